/**
 * Secrets canary (issue 9.3): every kind of secret the server handles is made with a value we
 * know — chosen by us where the caller chooses it (passwords, webhook secrets, OAuth access
 * tokens, the instance's configured secrets, wrong keys sent on purpose), and otherwise taken
 * from the one answer that first shows it (session tokens and cookies, server-side and
 * organisation API keys, two-factor seeds, backup codes and sign-in challenges; the reset
 * token from its mail). The API is then used with them: sign-ins (password, two-factor, backup
 * code, OAuth token exchange, cookie), SDK and OFREP calls with the keys, GraphQL with the
 * API key, webhooks triggered and delivered, a password reset, failed attempts.
 *
 * Then everything is searched for every secret — in plain text, base64, base64url, hex, URL
 * and form encoding: a dump of every row of every table, every line the server logged (at
 * trace level), every answer it gave (status line, headers, body), every mail it sent and
 * every webhook request it made. A secret may be found only in the one answer that first
 * showed it.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOAuthProvider } from '../support/fake-oauth-provider';
import { dumpDatabase, LogCapture } from '../support/security';
import { createTestApp, type TestApp } from '../support/test-app';
import { TestAuthenticator } from '../support/totp';
import { type Received, type Receiver, startReceiver } from '../support/webhook-receiver';

const PUBLIC_URL = 'https://flags.example.test';

/** A value no test data holds by chance. */
const canary = (kind: string) => `canary-${kind}-${randomBytes(12).toString('hex')}`;

// --- Where secrets may be found --------------------------------------------------------------

/** One answer of the server, as the client saw it. */
interface Exchange {
  readonly label: string;
  readonly text: string;
}

/** A secret: its value, and the answer (or mail) that first showed it, if the server made it. */
interface Secret {
  readonly name: string;
  readonly value: string;
  readonly shownIn?: string;
}

/** A value's forms to search for: as it is, and as encoders would write it. */
function formsOf(value: string): Record<string, string> {
  const bytes = Buffer.from(value, 'utf8');
  const forms: Record<string, string> = {
    plain: value,
    hex: bytes.toString('hex'),
    url: encodeURIComponent(value),
    form: new URLSearchParams({ v: value }).toString().slice(2),
  };
  // In base64 a value's letters depend on where it starts (mod 3): search all three, without
  // the partial groups at either end.
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    const cut = (s: string) => s.slice(shift ? 4 : 0, -4);
    forms[`base64+${shift}`] = cut(shifted.toString('base64'));
    forms[`base64url+${shift}`] = cut(shifted.toString('base64url'));
  }
  return forms;
}

/** Where each form of `secret` occurs in `text` (hex and URL forms case-insensitively). */
function hits(secret: Secret, text: string): string[] {
  const lower = text.toLowerCase();
  return Object.entries(formsOf(secret.value))
    .filter(
      ([kind, form]) =>
        form.length >= 8 &&
        (kind === 'hex' || kind === 'url' || kind === 'form'
          ? lower.includes(form.toLowerCase())
          : text.includes(form)),
    )
    .map(([kind]) => kind);
}

// --- A mail catcher ----------------------------------------------------------------------------

interface Inbox {
  readonly port: number;
  readonly mails: string[];
  next(): Promise<string>;
  close(): Promise<void>;
}

async function startSmtp(): Promise<Inbox> {
  const mails: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let seen = 0;
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    async next() {
      const deadline = Date.now() + 10_000;
      while (mails.length <= seen) {
        if (Date.now() > deadline) throw new Error('no mail arrived');
        await new Promise((r) => setTimeout(r, 50));
      }
      return mails[seen++]!;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A mail's body with quoted-printable undone. */
const decoded = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

// --- The test ------------------------------------------------------------------------------------

describe('secrets canary: no secret is found anywhere but in the answer that first showed it', () => {
  let t: TestApp;
  let smtp: Inbox;
  let receiver: Receiver;
  let fake: FakeOAuthProvider;
  const logs = new LogCapture();
  const exchanges: Exchange[] = [];
  const secrets: Secret[] = [];
  const remember = (name: string, value: string, shownIn?: string): string => {
    secrets.push({ name, value, ...(shownIn ? { shownIn } : {}) });
    return value;
  };

  // Configured secrets, chosen here.
  const SECRET_KEY = remember('SECRET_KEY', canary('secret-key'));
  const METRICS_TOKEN = remember('METRICS_TOKEN', canary('metrics'));
  const GOOGLE_SECRET = remember('OAUTH_CLIENT_SECRET', canary('google-client'));
  const GITHUB_SECRET = remember('GITHUB_CLIENT_SECRET', canary('github-client'));

  beforeAll(async () => {
    smtp = await startSmtp();
    receiver = await startReceiver();
    fake = await FakeOAuthProvider.start({
      google: { clientId: 'google-client', clientSecret: GOOGLE_SECRET },
      github: { clientId: 'github-client', clientSecret: GITHUB_SECRET },
    });
    t = await createTestApp(
      undefined,
      {
        ...fake.env,
        SECRET_KEY,
        METRICS_TOKEN,
        PUBLIC_URL,
        EMAIL_HOST: '127.0.0.1',
        EMAIL_PORT: String(smtp.port),
        EMAIL_USE_TLS: 'false',
        WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
        // Deliveries go when the test drains the outbox; retries soon after.
        WEBHOOK_POLL_MS: '60000',
        WEBHOOK_RETRY_BASE_SECONDS: '0.05',
        WEBHOOK_RETRY_MAX_SECONDS: '0.2',
      },
      { logger: logs.logger },
    );
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await Promise.all([smtp?.close(), receiver?.close(), fake?.close()]);
  });

  /** A request to the server, kept (status, headers and body) for the search. */
  async function call(
    label: string,
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; headers: Headers; text: string; label: string }> {
    const res = await fetch(`${t.url}${path}`, { ...init, redirect: 'manual' });
    const text = await res.text();
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    const numbered = `#${exchanges.length} ${label}`;
    exchanges.push({ label: numbered, text: `${res.status}\n${headers}\n\n${text}` });
    return { status: res.status, headers: res.headers, text, label: numbered };
  }

  type Auth = { token?: string; cookie?: string; apiKey?: string };

  /** GraphQL, kept like every answer; throws on errors unless `allowErrors`. */
  async function gql<T = Record<string, unknown>>(
    label: string,
    query: string,
    variables: Record<string, unknown> = {},
    auth: Auth = {},
    allowErrors = false,
  ): Promise<{ data: T; errors?: { message: string }[]; label: string; headers: Headers }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'canary-test',
    };
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    if (auth.apiKey) headers.authorization = `Api-Key ${auth.apiKey}`;
    if (auth.cookie) headers.cookie = auth.cookie;
    const res = await call(label, '/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = JSON.parse(res.text) as { data?: T; errors?: { message: string }[] };
    if (!allowErrors && body.errors?.length)
      throw new Error(`${label}: ${JSON.stringify(body.errors)}`);
    return { data: body.data as T, errors: body.errors, label: res.label, headers: res.headers };
  }

  const LOGIN =
    'mutation($e: String!, $p: String!, $m: LoginMode!) { login(input: { email: $e, password: $p, mode: $m }) { token twoFactorChallenge } }';

  /** A user made the way `flagward createsuperuser` makes one, with a password of ours. */
  async function person(email: string): Promise<{ email: string; password: string }> {
    const password = remember(`password of ${email}`, canary('password'));
    await t.app.services.users.create(t.app.db.orm.em.fork(), { email, password });
    return { email, password };
  }

  it('finds each secret only where it was first shown', { timeout: 120_000 }, async () => {
    // --- Sign in with a password: a bearer token, then a cookie session.
    const owner = await person('owner@acme.test');
    const signedIn = await gql<{ login: { token: string } }>('login (token)', LOGIN, {
      e: owner.email,
      p: owner.password,
      m: 'TOKEN',
    });
    const token = remember('session token', signedIn.data.login.token, signedIn.label);
    const byCookie = await gql('login (cookie)', LOGIN, {
      e: owner.email,
      p: owner.password,
      m: 'COOKIE',
    });
    const setCookie = byCookie.headers.get('set-cookie') ?? '';
    const cookie = setCookie.split(';')[0]!;
    const cookieValue = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    remember('session cookie', cookieValue, byCookie.label);
    // The session id alone (the cookie is `s:<id>.<signature>`).
    remember('session id', cookieValue.slice(2, cookieValue.lastIndexOf('.')), byCookie.label);
    await gql('me (cookie)', '{ me { id email } }', {}, { cookie });
    await gql('logout (cookie)', 'mutation { logout }', {}, { cookie });
    await gql('sessions', '{ mySessions { nodes { id current userAgent } } }', {}, { token });
    // A wrong password, sent on purpose.
    const wrong = remember('wrong password', canary('wrong-password'));
    await gql('login (wrong password)', LOGIN, { e: owner.email, p: wrong, m: 'TOKEN' }, {}, true);
    // A sign-in a client got wrong: its e-mail under another name, its password right.
    const malformed = await gql(
      'login (malformed)',
      'mutation($i: LoginInput!) { login(input: $i) { token } }',
      { i: { mail: owner.email, password: owner.password, mode: 'TOKEN' } },
      {},
      true,
    );
    // graphql-js printed the whole value, password included, before the message.
    expect(malformed.errors?.[0]?.message).toBe(
      'Variable "$i" got an invalid value; Field "email" of required type "String!" was not provided.',
    );
    const newPassword = remember('changed password', canary('new-password'));
    await gql(
      'changePassword',
      'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }',
      {
        i: { currentPassword: owner.password, newPassword },
      },
      { token },
    );

    // --- An organisation, a project, an environment, a feature.
    const org = (
      await gql<{ createOrganisation: { id: string } }>(
        'createOrganisation',
        'mutation { createOrganisation(input: { name: "Acme" }) { id } }',
        {},
        { token },
      )
    ).data.createOrganisation.id;
    const project = (
      await gql<{ createProject: { id: string } }>(
        'createProject',
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Web" }) { id } }',
        { o: org },
        { token },
      )
    ).data.createProject.id;
    const env = (
      await gql<{ createEnvironment: { id: string; apiKey: string } }>(
        'createEnvironment',
        'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Production" }) { id apiKey } }',
        { p: project },
        { token },
      )
    ).data.createEnvironment;
    const feature = (
      await gql<{ createFeature: { id: string } }>(
        'createFeature',
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout", initialValue: "blue" }) { id } }',
        { p: project },
        { token },
      )
    ).data.createFeature.id;

    // --- A server-side key, used by the SDK API and OFREP; wrong keys too.
    const made = await gql<{ createServerSideKey: { key: string } }>(
      'createServerSideKey',
      'mutation($e: ID!) { createServerSideKey(input: { environmentId: $e, name: "backend" }) { key } }',
      { e: env.id },
      { token },
    );
    const serverKey = remember('server-side key', made.data.createServerSideKey.key, made.label);
    await call('environment document', '/api/v1/environment-document/', {
      headers: { 'x-environment-key': serverKey },
    });
    await call('flags (server key)', '/api/v1/flags/', {
      headers: { 'x-environment-key': serverKey },
    });
    await call('identify (server key)', '/api/v1/identities/', {
      method: 'POST',
      headers: { 'x-environment-key': serverKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        identifier: 'u1',
        traits: [{ trait_key: 'plan', trait_value: 'gold' }],
      }),
    });
    await call('OFREP (server key)', '/ofrep/v1/evaluate/flags/checkout', {
      method: 'POST',
      headers: { authorization: `Bearer ${serverKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'u1' } }),
    });
    const wrongKey = remember('wrong server-side key', `ser.${canary('wrong-key')}`);
    await call('flags (wrong key)', '/api/v1/flags/', {
      headers: { 'x-environment-key': wrongKey },
    });
    await gql(
      'server-side keys',
      'query($e: ID!) { environment(id: $e) { serverSideKeys { id name } } }',
      { e: env.id },
      { token },
    );

    // --- An organisation API key, used for GraphQL; a wrong one too.
    const keyMade = await gql<{ createOrganisationApiKey: { key: string } }>(
      'createOrganisationApiKey',
      'mutation($o: ID!) { createOrganisationApiKey(input: { organisationId: $o, name: "terraform" }) { key } }',
      { o: org },
      { token },
    );
    const apiKey = remember(
      'organisation API key',
      keyMade.data.createOrganisationApiKey.key,
      keyMade.label,
    );
    await gql(
      'API key: read',
      'query($o: ID!) { organisation(id: $o) { name } }',
      { o: org },
      { apiKey },
    );
    await gql(
      'API key: write',
      'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "banner" }) { id } }',
      { p: project },
      { apiKey },
    );
    await gql(
      'API keys',
      'query($o: ID!) { organisationApiKeys(organisationId: $o) { nodes { id name prefix } } }',
      { o: org },
      { token },
      true,
    );
    const wrongApiKey = remember('wrong API key', canary('wrong-api-key'));
    await gql('API key: wrong', '{ me { id } }', {}, { apiKey: wrongApiKey }, true);

    // --- Webhooks with secrets of ours, triggered and delivered.
    const hookSecret = remember('webhook secret', canary('hook'));
    const hook = (
      await gql<{ createEnvironmentWebhook: { id: string } }>(
        'createEnvironmentWebhook',
        'mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) { id hasSecret } }',
        {
          i: {
            environmentId: env.id,
            url: receiver.url('/env-hook'),
            name: 'ci',
            secret: hookSecret,
          },
        },
        { token },
      )
    ).data.createEnvironmentWebhook.id;
    const newHookSecret = remember('changed webhook secret', canary('hook-changed'));
    await gql(
      'updateWebhook',
      'mutation($id: ID!, $s: String!) { updateWebhook(id: $id, input: { secret: $s }) { id hasSecret } }',
      { id: hook, s: newHookSecret },
      { token },
    );
    const orgHookSecret = remember('organisation webhook secret', canary('org-hook'));
    await gql(
      'createOrganisationWebhook',
      'mutation($i: CreateOrganisationWebhookInput!) { createOrganisationWebhook(input: $i) { id } }',
      {
        i: {
          organisationId: org,
          url: receiver.url('/org-hook'),
          name: 'audit',
          secret: orgHookSecret,
        },
      },
      { token },
    );
    await gql(
      'sendTestWebhookEvent',
      'mutation($w: ID!) { sendTestWebhookEvent(webhookId: $w) { id } }',
      { w: hook },
      { token },
    );
    const states = await gql<{ featureStates: { nodes: { id: string; kind: string }[] } }>(
      'featureStates',
      'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id kind } } }',
      { e: env.id, f: [feature] },
      { token },
    );
    const state = states.data.featureStates.nodes.find((s) => s.kind === 'ENVIRONMENT_DEFAULT')!.id;
    await gql(
      'updateFeatureState',
      'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: true, value: "green" }) { id } }',
      { id: state },
      { token },
    );
    // The first attempts are refused by the receiver (failures are logged), then retried.
    receiver.respondWith(() => 500);
    await t.app.webhooks.drain();
    receiver.respondWith(() => 200);
    await new Promise((r) => setTimeout(r, 300));
    await t.app.webhooks.drain();
    await gql(
      'webhook and deliveries',
      'query($id: ID!) { webhook(id: $id) { id hasSecret } webhookDeliveries(webhookId: $id) { nodes { id status } } }',
      { id: hook },
      { token },
    );
    expect(receiver.all.length, 'webhook requests made, retries included').toBeGreaterThanOrEqual(
      6,
    );

    // --- Two-factor sign-in: seed, backup codes, challenges.
    const second = await person('second@acme.test');
    const secondToken = (
      await gql<{ login: { token: string } }>('login (second)', LOGIN, {
        e: second.email,
        p: second.password,
        m: 'TOKEN',
      })
    ).data.login.token;
    remember('session token (second)', secondToken, exchanges[exchanges.length - 1]!.label);
    const setup = await gql<{
      beginTwoFactorSetup: { otpauthUri: string; manualEntryKey: string };
    }>(
      'beginTwoFactorSetup',
      'mutation { beginTwoFactorSetup { otpauthUri manualEntryKey } }',
      {},
      { token: secondToken },
    );
    const seed = remember(
      'two-factor seed',
      setup.data.beginTwoFactorSetup.manualEntryKey,
      setup.label,
    );
    expect(setup.data.beginTwoFactorSetup.otpauthUri).toContain(seed);
    const app = new TestAuthenticator(seed);
    const confirmed = await gql<{ confirmTwoFactor: { backupCodes: string[] } }>(
      'confirmTwoFactor',
      'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
      { c: await app.next() },
      { token: secondToken },
    );
    confirmed.data.confirmTwoFactor.backupCodes.forEach((code, i) =>
      remember(`backup code ${i}`, code, confirmed.label),
    );
    const regenerated = await gql<{ regenerateBackupCodes: { backupCodes: string[] } }>(
      'regenerateBackupCodes',
      'mutation($c: String!) { regenerateBackupCodes(code: $c) { backupCodes } }',
      // A backup code (two authenticator codes a test can have without waiting for the clock).
      { c: confirmed.data.confirmTwoFactor.backupCodes[1]! },
      { token: secondToken },
    );
    const codes = regenerated.data.regenerateBackupCodes.backupCodes;
    codes.forEach((code, i) => remember(`new backup code ${i}`, code, regenerated.label));
    const COMPLETE =
      'mutation($c: String!, $code: String!) { completeTwoFactorLogin(input: { challenge: $c, code: $code, mode: TOKEN }) { token } }';
    for (const [how, code] of [
      ['authenticator code', await app.next()],
      ['backup code', codes[0]!],
    ] as const) {
      const first = await gql<{ login: { twoFactorChallenge: string } }>(
        `login (two-factor, ${how})`,
        LOGIN,
        { e: second.email, p: second.password, m: 'TOKEN' },
      );
      const challenge = remember(
        `sign-in challenge (${how})`,
        first.data.login.twoFactorChallenge,
        first.label,
      );
      const done = await gql<{ completeTwoFactorLogin: { token: string } }>(
        `completeTwoFactorLogin (${how})`,
        COMPLETE,
        { c: challenge, code },
      );
      remember(`session token (${how})`, done.data.completeTwoFactorLogin.token, done.label);
    }
    await gql(
      'twoFactorStatus',
      '{ twoFactorStatus { enabled unusedBackupCodes } }',
      {},
      { token: secondToken },
    );

    // --- A password reset by mail: the mail is where its token is first shown.
    const forgetful = await person('forgetful@acme.test');
    await gql('requestPasswordReset', 'mutation($e: String!) { requestPasswordReset(email: $e) }', {
      e: forgetful.email,
    });
    const mail = await smtp.next();
    const link = /https:\/\/flags\.example\.test\/password-reset\?token=([A-Za-z0-9_%-]+)/.exec(
      decoded(mail),
    );
    expect(link, 'the reset link in the mail').not.toBeNull();
    const resetToken = remember('password-reset token', decodeURIComponent(link![1]!), 'mail 0');
    await call('reset page', `/password-reset?token=${encodeURIComponent(resetToken)}`);
    const resetPassword = remember('password set by reset', canary('reset-password'));
    await gql(
      'resetPassword',
      'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }',
      { t: resetToken, p: resetPassword },
    );
    await gql('login (after reset)', LOGIN, { e: forgetful.email, p: resetPassword, m: 'TOKEN' });
    remember(
      'session token (after reset)',
      (
        JSON.parse(exchanges[exchanges.length - 1]!.text.split('\n\n').slice(1).join('\n\n')) as {
          data: { login: { token: string } };
        }
      ).data.login.token,
      exchanges[exchanges.length - 1]!.label,
    );

    // --- OAuth: provider access tokens of ours exchanged for sessions.
    const googleToken = remember(
      'Google access token',
      fake.issueGoogleToken({
        sub: 'g-1',
        email: 'oauth@acme.test',
        email_verified: true,
        name: 'O Auth',
      }),
    );
    const google = await call('oauth google', '/api/v1/auth/oauth/google/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: googleToken }),
    });
    expect(google.status).toBe(200);
    remember(
      'session token (Google)',
      (JSON.parse(google.text) as { key: string }).key,
      google.label,
    );
    const githubToken = remember(
      'GitHub access token',
      fake.issueGitHubToken({
        id: 77,
        login: 'octo',
        emails: [{ email: 'octo@acme.test', primary: true, verified: true }],
      }),
    );
    const github = await call('oauth github', '/api/v1/auth/oauth/github/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: githubToken }),
    });
    expect(github.status).toBe(200);
    remember(
      'session token (GitHub)',
      (JSON.parse(github.text) as { key: string }).key,
      github.label,
    );
    // The browser sign-in: the provider's token endpoint answers with an access token of ours.
    const browserAccount = {
      sub: 'g-2',
      email: 'browser@acme.test',
      email_verified: true,
      name: 'B Rowser',
    };
    const browserToken = remember(
      'Google access token (browser)',
      fake.issueGoogleToken(browserAccount),
    );
    fake.garble(
      '/oauth2/v4/token',
      JSON.stringify({ access_token: browserToken, token_type: 'Bearer', expires_in: 3599 }),
    );
    fake.nextGoogle(browserAccount);
    let jar = '';
    let url = `${t.url}/auth/oauth/google/`;
    for (let hop = 0; hop < 6 && url; hop++) {
      const ours = url.startsWith(t.url);
      const res = ours
        ? await call(`oauth browser hop ${hop}`, url.slice(t.url.length), {
            headers: jar ? { cookie: jar } : {},
          })
        : await fetch(url, { redirect: 'manual' }).then(async (r) => ({
            status: r.status,
            headers: r.headers,
            text: await r.text(),
            label: '',
          }));
      const set = res.headers.get('set-cookie');
      if (ours && set) {
        jar = set.split(';')[0]!;
        const value = decodeURIComponent(jar.slice(jar.indexOf('=') + 1));
        remember(`browser session cookie (hop ${hop})`, value, res.label);
      }
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      const next = location ? new URL(location, url).toString() : '';
      url = next.startsWith(PUBLIC_URL)
        ? t.url + next.slice(PUBLIC_URL.length)
        : next.includes('/auth/oauth/') || next.startsWith(fake.url)
          ? next
          : '';
    }
    fake.garble('/oauth2/v4/token', null);
    const browserMe = await gql<{ me: { email: string } }>(
      'me (browser session)',
      '{ me { email } }',
      {},
      { cookie: jar },
    );
    expect(browserMe.data.me.email).toBe('browser@acme.test');
    const refused = remember('refused access token', canary('not-issued'));
    await call('oauth google (refused)', '/api/v1/auth/oauth/google/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: refused }),
    });

    // --- The rest: metrics with their token, sign out.
    expect(
      (await call('metrics', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }))
        .status,
    ).toBe(200);
    await gql('logoutEverywhere', 'mutation { logoutEverywhere }', {}, { token: secondToken });

    // --- The search.
    await t.app.usage.flush();
    const places: { where: string; text: string }[] = [
      { where: 'the database', text: await dumpDatabase(t) },
      { where: 'the logs', text: logs.text },
      ...exchanges.map((e) => ({ where: `answer ${e.label}`, text: e.text })),
      ...smtp.mails.map((m, i) => ({ where: `mail ${i}`, text: `${m}\n${decoded(m)}` })),
      ...receiver.all.map((r: Received, i) => ({
        where: `webhook request ${i} (${r.path})`,
        text: `${JSON.stringify(r.headers)}\n${r.body.toString('utf8')}`,
      })),
    ];
    const found: string[] = [];
    for (const secret of secrets) {
      for (const place of places) {
        const label = place.where.startsWith('answer ') ? place.where.slice(7) : place.where;
        if (label === secret.shownIn) continue;
        const kinds = hits(secret, place.text);
        if (kinds.length) found.push(`${secret.name} in ${place.where} (${kinds.join(', ')})`);
      }
    }
    // Each server-made secret is in the answer that showed it (the search can find them).
    for (const secret of secrets.filter((s) => s.shownIn)) {
      const origin = places.find(
        (p) => p.where === `answer ${secret.shownIn}` || p.where === secret.shownIn,
      );
      expect(
        origin !== undefined && hits(secret, origin.text).length > 0,
        `${secret.name} in ${secret.shownIn}`,
      ).toBe(true);
    }
    const bytes = places.reduce((n, p) => n + p.text.length, 0);
    console.log(
      `secrets canary: ${secrets.length} secrets (${secrets.filter((s) => s.shownIn).length} made by the server) × ` +
        `${Object.keys(formsOf('x'.repeat(12))).length} encodings searched in ${places.length} places ` +
        `(${exchanges.length} answers, ${smtp.mails.length} mail, ${receiver.all.length} webhook requests, ` +
        `${logs.lines().length} log lines, the database; ${(bytes / 1e6).toFixed(1)} MB): ${found.length} found`,
    );
    expect(found).toEqual([]);
  });
});
