import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What Google's OpenID userinfo endpoint answers. */
export interface GoogleAccount {
  readonly sub: string;
  readonly email: string;
  readonly email_verified: boolean;
  readonly given_name?: string;
  readonly family_name?: string;
  readonly name?: string;
}

/** GitHub's `/user` and `/user/emails`. */
export interface GitHubAccount {
  readonly id: number;
  readonly login: string;
  readonly name?: string | null;
  readonly emails: readonly { email: string; primary: boolean; verified: boolean }[];
}

type Provider = 'google' | 'github';
type Account =
  { provider: 'google'; account: GoogleAccount } | { provider: 'github'; account: GitHubAccount };

export interface Client {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** One authorization request as the fake received it. */
export interface AuthorizeRequest {
  readonly provider: Provider;
  readonly query: Readonly<Record<string, string>>;
}

/**
 * A stand-in for Google's and GitHub's OAuth 2.0 servers on a loopback port, speaking the
 * parts passport-google-oauth20 and passport-github2 use: authorize (redirects straight
 * back, as if the person had consented), code-for-token exchange (checks the client's id
 * and secret and the redirect URI), and the profile endpoints (Bearer header or
 * `?access_token=`). Tests choose which account the next authorization signs in as.
 */
export class FakeOAuthProvider {
  readonly authorizeRequests: AuthorizeRequest[] = [];
  private readonly next: Partial<Record<Provider, GoogleAccount | GitHubAccount>> = {};
  private readonly deny = new Set<Provider>();
  private readonly codes = new Map<
    string,
    { provider: Provider; account: Account; redirectUri: string }
  >();
  private readonly tokens = new Map<string, Account>();
  private readonly server = createServer((req, res) => {
    this.route(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  private origin = '';

  private constructor(private readonly clients: Record<Provider, Client>) {}

  static async start(clients: Record<Provider, Client>): Promise<FakeOAuthProvider> {
    const fake = new FakeOAuthProvider(clients);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.origin = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  get url(): string {
    return this.origin;
  }

  /** The Flagward settings that point both strategies here. */
  get env(): Record<string, string> {
    return {
      OAUTH_CLIENT_ID: this.clients.google.clientId,
      OAUTH_CLIENT_SECRET: this.clients.google.clientSecret,
      GOOGLE_AUTHORIZATION_URL: `${this.origin}/o/oauth2/v2/auth`,
      GOOGLE_TOKEN_URL: `${this.origin}/oauth2/v4/token`,
      GOOGLE_USER_PROFILE_URL: `${this.origin}/oauth2/v3/userinfo`,
      GITHUB_CLIENT_ID: this.clients.github.clientId,
      GITHUB_CLIENT_SECRET: this.clients.github.clientSecret,
      GITHUB_AUTHORIZATION_URL: `${this.origin}/login/oauth/authorize`,
      GITHUB_TOKEN_URL: `${this.origin}/login/oauth/access_token`,
      GITHUB_USER_PROFILE_URL: `${this.origin}/user`,
      GITHUB_USER_EMAIL_URL: `${this.origin}/user/emails`,
    };
  }

  /** The account the next Google authorization signs in as. */
  nextGoogle(account: GoogleAccount): void {
    this.next.google = account;
  }

  nextGitHub(account: GitHubAccount): void {
    this.next.github = account;
  }

  /** The next authorization at `provider` is refused by the person (`error=access_denied`). */
  denyNext(provider: Provider): void {
    this.deny.add(provider);
  }

  /** An access token for `account`, as a frontend that signed in by itself would hold. */
  issueGoogleToken(account: GoogleAccount): string {
    return this.issue({ provider: 'google', account });
  }

  issueGitHubToken(account: GitHubAccount): string {
    return this.issue({ provider: 'github', account });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private issue(account: Account): string {
    const token = `${account.provider}-at-${randomBytes(12).toString('hex')}`;
    this.tokens.set(token, account);
    return token;
  }

  /** Until cleared, `path` answers 200 with exactly `body` (a provider gone wrong). */
  garble(path: string, body: string | null): void {
    if (body === null) this.garbled.delete(path);
    else this.garbled.set(path, body);
  }

  private readonly garbled = new Map<string, string>();

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const route = `${req.method} ${url.pathname}`;
    const garbled = this.garbled.get(url.pathname);
    if (garbled !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(garbled);
      return;
    }
    switch (route) {
      case 'GET /o/oauth2/v2/auth':
        return this.authorize('google', url, res);
      case 'GET /login/oauth/authorize':
        return this.authorize('github', url, res);
      case 'POST /oauth2/v4/token':
        return this.token('google', await form(req), res);
      case 'POST /login/oauth/access_token':
        return this.token('github', await form(req), res);
      case 'GET /oauth2/v3/userinfo': {
        const account = this.bearer('google', req, url);
        if (account?.provider !== 'google') {
          return json(res, 401, {
            error: 'invalid_token',
            error_description: 'Invalid Credentials',
          });
        }
        return json(res, 200, account.account);
      }
      case 'GET /user':
      case 'GET /user/emails': {
        const account = this.bearer('github', req, url);
        if (account?.provider !== 'github') {
          return json(res, 401, { message: 'Bad credentials' });
        }
        if (!req.headers['user-agent']) {
          return json(res, 403, { message: 'Request forbidden: send a User-Agent header' });
        }
        const { emails, ...user } = account.account;
        if (url.pathname === '/user') {
          return json(res, 200, {
            ...user,
            html_url: `https://github.example/${user.login}`,
            email: null,
          });
        }
        return json(
          res,
          200,
          emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
        );
      }
      default:
        return json(res, 404, { error: 'not_found' });
    }
  }

  private authorize(provider: Provider, url: URL, res: ServerResponse): void {
    const query = Object.fromEntries(url.searchParams);
    this.authorizeRequests.push({ provider, query });
    if (query.client_id !== this.clients[provider].clientId || query.response_type !== 'code') {
      return json(res, 400, { error: 'invalid_request' });
    }
    const back = new URL(query.redirect_uri ?? '');
    if (query.state !== undefined) back.searchParams.set('state', query.state);
    if (this.deny.delete(provider)) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied access');
    } else {
      const chosen = this.next[provider];
      if (!chosen) return json(res, 500, { error: `no ${provider} account chosen by the test` });
      const code = randomBytes(12).toString('hex');
      this.codes.set(code, {
        provider,
        account: { provider, account: chosen } as Account,
        redirectUri: query.redirect_uri ?? '',
      });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() }).end();
  }

  private token(provider: Provider, body: URLSearchParams, res: ServerResponse): void {
    const client = this.clients[provider];
    if (
      body.get('client_id') !== client.clientId ||
      body.get('client_secret') !== client.clientSecret
    ) {
      return json(res, 401, { error: 'invalid_client' });
    }
    const code = body.get('code') ?? '';
    const grant = this.codes.get(code);
    // A code is good once, for the redirect URI it was issued to.
    this.codes.delete(code);
    if (
      !grant ||
      grant.provider !== provider ||
      body.get('grant_type') !== 'authorization_code' ||
      body.get('redirect_uri') !== grant.redirectUri
    ) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    const token = this.issue(grant.account);
    json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3599 });
  }

  private bearer(provider: Provider, req: IncomingMessage, url: URL): Account | undefined {
    const header = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = header ?? url.searchParams.get('access_token') ?? '';
    const account = this.tokens.get(token);
    return account?.provider === provider ? account : undefined;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
