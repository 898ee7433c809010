import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { ServerSideKey } from '../../src/environments/server-side-key.entity';
import { UserSession } from '../../src/users/user-session.entity';
import { runCli } from '../support/cli';
import { createTestStorage, type TestStorage } from '../support/database';
import { createTestApp, type TestApp } from '../support/test-app';

const ADMIN = 'Root.Admin@Example.com';
const ADMIN_PASSWORD = 'a long and secret password';

describe('from a fresh database to an environment, through the CLI and GraphQL', () => {
  let storage: TestStorage;
  let t: TestApp;
  let token: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    storage = await createTestStorage();
    const cli = await runCli(
      ['createsuperuser', '--email', ADMIN, '--password-stdin', '--no-input'],
      {
        env: storage.env,
        stdin: ADMIN_PASSWORD,
      },
    );
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('Superuser created');
    t = await createTestApp(storage);
  });

  afterAll(async () => {
    await t?.close();
    await storage?.cleanup();
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    for (const email of [ADMIN, 'nobody@example.com']) {
      const res = await t.gql(
        'mutation($e: String!) { login(input: { email: $e, password: "wrong password", mode: TOKEN }) { token } }',
        { e: email },
      );
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message).toBe('Unable to sign in with the provided credentials');
    }
  });

  it('logs the superuser in with a bearer token, the email matched case-insensitively', async () => {
    const res = await t.gql<{
      login: { token: string; user: { email: string; isSuperuser: boolean } };
    }>(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token user { email isSuperuser } } }',
      { e: ADMIN.toLowerCase(), p: ADMIN_PASSWORD },
    );
    expect(res.errors).toBeUndefined();
    token = res.data!.login.token;
    expect(token).toMatch(/^[\w-]{40,}$/);
    expect(res.data!.login.user).toEqual({ email: ADMIN, isSuperuser: true });
    // Only the token's hash is stored.
    const rows = await t.app.db.orm.em.fork().find(UserSession, {});
    expect(rows.map((r) => r.idHash)).not.toContain(token);
  });

  it('creates an organisation, a project and an environment', async () => {
    const org = await t.gql<{ createOrganisation: { id: string; name: string; myRole: string } }>(
      'mutation { createOrganisation(input: { name: "  Acme  " }) { id name myRole } }',
      {},
      { token },
    );
    expect(org.errors).toBeUndefined();
    expect(org.data!.createOrganisation).toMatchObject({ name: 'Acme', myRole: 'ADMIN' });
    ids.org = org.data!.createOrganisation.id;

    const project = await t.gql<{
      createProject: { id: string; name: string; organisation: { id: string } };
    }>(
      'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Web", hideDisabledFlags: true }) { id name hideDisabledFlags organisation { id } } }',
      { o: ids.org },
      { token },
    );
    expect(project.errors).toBeUndefined();
    expect(project.data!.createProject).toMatchObject({
      name: 'Web',
      hideDisabledFlags: true,
      organisation: { id: ids.org },
    });
    ids.project = project.data!.createProject.id;

    const env = await t.gql<{
      createEnvironment: { id: string; apiKey: string; project: { id: string } };
    }>(
      'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Production", bannerText: "LIVE", bannerColour: "#FF0000" }) { id name apiKey allowClientTraits bannerText bannerColour project { id } } }',
      { p: ids.project },
      { token },
    );
    expect(env.errors).toBeUndefined();
    expect(env.data!.createEnvironment).toMatchObject({
      name: 'Production',
      allowClientTraits: true,
      bannerColour: '#FF0000',
      project: { id: ids.project },
    });
    expect(env.data!.createEnvironment.apiKey).toMatch(/^[2-9A-HJ-NP-Za-km-z]{22}$/);
    ids.env = env.data!.createEnvironment.id;

    const tree = await t.gql<{
      organisations: {
        nodes: {
          name: string;
          projects: { nodes: { name: string; environments: { nodes: { name: string }[] } }[] };
        }[];
      };
    }>(
      '{ organisations { nodes { name projects { nodes { name environments { nodes { name } } } } } } }',
      {},
      { token },
    );
    expect(tree.data!.organisations.nodes).toEqual([
      {
        name: 'Acme',
        projects: { nodes: [{ name: 'Web', environments: { nodes: [{ name: 'Production' }] } }] },
      },
    ]);

    const audit = await t.app.db.orm.em.fork().find(AuditLog, {}, { orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.log)).toEqual([
      'Superuser created from the command line: Root.Admin@Example.com',
      'New organisation created: Acme',
      'New project created: Web',
      'New environment created: Production',
    ]);
  });

  it('creates a server-side key shown once, stored only as a hash', async () => {
    const res = await t.gql<{
      createServerSideKey: {
        key: string;
        serverSideKey: { id: string; keyPrefix: string; active: boolean };
      };
    }>(
      'mutation($e: ID!) { createServerSideKey(input: { environmentId: $e, name: "backend" }) { key serverSideKey { id name keyPrefix active } } }',
      { e: ids.env },
      { token },
    );
    expect(res.errors).toBeUndefined();
    const { key, serverSideKey } = res.data!.createServerSideKey;
    expect(key).toMatch(/^ser\.[2-9A-HJ-NP-Za-km-z]{22}$/);
    expect(serverSideKey).toMatchObject({ active: true, keyPrefix: key.slice(0, 8) });
    const stored = await t.app.db.orm.em.fork().find(ServerSideKey, {});
    expect(JSON.stringify(stored)).not.toContain(key);

    const listed = await t.gql<{
      environment: { serverSideKeys: { name: string; active: boolean }[] };
    }>(
      'query($e: ID!) { environment(id: $e) { serverSideKeys { name active } } }',
      { e: ids.env },
      { token },
    );
    expect(listed.data!.environment.serverSideKeys).toEqual([{ name: 'backend', active: true }]);

    const off = await t.gql(
      'mutation($k: ID!) { updateServerSideKey(id: $k, input: { active: false }) { active } }',
      { k: serverSideKey.id },
      { token },
    );
    expect(off.data).toEqual({ updateServerSideKey: { active: false } });
  });

  it('signs a browser in with an HttpOnly, SameSite=Lax cookie, and out again', async () => {
    const login = await t.gql(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token user { email } } }',
      {
        e: ADMIN,
        p: ADMIN_PASSWORD,
      },
    );
    expect(login.errors).toBeUndefined();
    expect(login.data).toEqual({ login: { token: null, user: { email: ADMIN } } });
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^flagward\.sid=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i); // plain HTTP here; Secure behind TLS
    const cookie = setCookie.split(';')[0]!;

    const me = await t.gql<{ me: { email: string } }>('{ me { email } }', {}, { cookie });
    expect(me.data).toEqual({ me: { email: ADMIN } });

    const out = await t.gql('mutation { logout }', {}, { cookie });
    expect(out.data).toEqual({ logout: true });
    const after = await t.gql('{ me { email } }', {}, { cookie });
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('revokes a bearer token on logout', async () => {
    const extra = await t.gql<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
      {
        e: ADMIN,
        p: ADMIN_PASSWORD,
      },
    );
    const second = extra.data!.login.token;
    expect((await t.gql('mutation { logout }', {}, { token: second })).data).toEqual({
      logout: true,
    });
    const res = await t.gql('{ me { email } }', {}, { token: second });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The first token is unaffected.
    expect((await t.gql('{ me { email } }', {}, { token })).data).toEqual({ me: { email: ADMIN } });
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${t.url}/health/liveness`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${t.url}/health/readiness`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      database: 'ok',
      ...(t.app.db.embedded ? {} : { notifications: 'listening' }),
    });
  });
});
