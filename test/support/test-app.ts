import { randomBytes } from 'node:crypto';
import { type FlagwardApp, createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import {
  OrganisationMembership,
  OrganisationRole,
} from '../../src/organisations/membership.entity';
import { createLogger, type Logger } from '../../src/shared/logger';
import type { User } from '../../src/users/user.entity';
import { createTestStorage, type TestStorage } from './database';

/** Settings every test server uses: an ephemeral port, quiet logs, fast (test-only) hashing. */
export const TEST_ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_ITERATIONS: '1',
} as const;

export interface GqlResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly data: T | null;
  readonly errors:
    | readonly { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[]
    | undefined;
  readonly headers: Headers;
}

export interface GqlOptions {
  readonly token?: string;
  readonly cookie?: string;
}

export interface TestApp {
  readonly app: FlagwardApp;
  readonly url: string;
  readonly storage: TestStorage;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: GqlOptions,
  ): Promise<GqlResult<T>>;
  /** Creates a user directly (there is no sign-up flow yet) and returns a bearer token for them. */
  createUser(
    email: string,
    extra?: { isSuperuser?: boolean; isStaff?: boolean },
  ): Promise<{ user: User; token: string }>;
  addMember(user: User, organisationId: string | number, role: OrganisationRole): Promise<void>;
  close(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';

/**
 * A real Flagward on a fresh database, listening on a loopback port. `env` adds or overrides
 * settings (e.g. WEBHOOK_ALLOWED_NETWORKS for local webhook receivers); `options.logger`
 * receives the server's logs (tests that read them).
 */
export async function createTestApp(
  storage?: TestStorage,
  env: Readonly<Record<string, string>> = {},
  options: { readonly logger?: Logger } = {},
): Promise<TestApp> {
  const store = storage ?? (await createTestStorage());
  const config = loadConfig({
    ...TEST_ENV,
    ...store.env,
    SECRET_KEY: randomBytes(32).toString('hex'),
    ...env,
  });
  // TEST_LOG_LEVEL=error (or debug…) shows a test server's logs when a test needs explaining.
  const app = await createApp(config, {
    logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  });
  const { url } = await app.listen();

  const gql: TestApp['gql'] = async (query, variables, opts = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: GqlResult['errors'] };
    return {
      status: res.status,
      data: (body.data ?? null) as never,
      errors: body.errors,
      headers: res.headers,
    };
  };

  return {
    app,
    url,
    storage: store,
    gql,
    async createUser(email, extra = {}) {
      const user = await app.services.users.create(app.db.orm.em.fork(), {
        email,
        password: PASSWORD,
        ...extra,
      });
      const res = await gql<{ login: { token: string } }>(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
        { e: email, p: PASSWORD },
      );
      if (!res.data) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
      return { user, token: res.data.login.token };
    },
    async addMember(user, organisationId, role) {
      const em = app.db.orm.em.fork();
      em.create(OrganisationMembership, {
        user: user.id,
        organisation: Number(organisationId),
        role,
      });
      await em.flush();
    },
    async close() {
      await app.close();
      if (!storage) await store.cleanup();
    },
  };
}

export { OrganisationRole };
