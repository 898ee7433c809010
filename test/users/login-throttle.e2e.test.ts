import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/users/login-throttle.entity';
import { createTestStorage, type TestStorage } from '../support/database';
import { createTestApp, type GqlResult, PASSWORD, type TestApp } from '../support/test-app';

const ENV = {
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '6',
  LOGIN_BLOCK_SECONDS: '1',
  LOGIN_THROTTLE_WINDOW_SECONDS: '60',
};

const LOGIN =
  'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }';

type LoginResult = GqlResult<{ login: { token: string } }>;

/** Signs in from client address `ip` (the test server trusts X-Forwarded-For from loopback). */
async function login(
  t: TestApp,
  ip: string,
  email: string,
  password: string,
): Promise<LoginResult> {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ query: LOGIN, variables: { e: email, p: password } }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: LoginResult['errors'] };
  return {
    status: res.status,
    data: (body.data ?? null) as LoginResult['data'],
    errors: body.errors,
    headers: res.headers,
  };
}

const codeOf = (res: LoginResult): unknown => res.errors?.[0]?.extensions?.code;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function row(t: TestApp, subject: string): Promise<LoginThrottle | null> {
  return t.app.db.orm.em.fork().findOne(LoginThrottle, { subject });
}

/** Failed sign-ins are throttled per account and per client address, through the database. */
describe('login throttle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(undefined, ENV);
  });
  afterAll(() => t?.close());

  it('blocks an account after too many failures, even for the right password, until the block ends', async () => {
    const email = 'blocked@example.com';
    await t.createUser(email);
    for (let i = 0; i < 3; i++) {
      expect(codeOf(await login(t, '10.0.1.1', email, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    const blocked = await login(t, '10.0.1.1', email, PASSWORD);
    expect(codeOf(blocked)).toBe('TOO_MANY_REQUESTS');
    const retryAfter = blocked.errors?.[0]?.extensions?.retryAfterSeconds;
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThan(0);
    expect(blocked.errors?.[0]?.message).toBe(
      `Too many failed sign-in attempts; try again in ${String(retryAfter)} seconds`,
    );
    expect(blocked.data).toBeNull();
    // The account is blocked from any address.
    expect(codeOf(await login(t, '10.0.1.2', email, PASSWORD))).toBe('TOO_MANY_REQUESTS');

    await sleep(1100);
    const after = await login(t, '10.0.1.1', email, PASSWORD);
    expect(after.errors).toBeUndefined();
    expect(after.data?.login.token).toEqual(expect.any(String));
    expect(await row(t, `account:${email}`)).toBeNull();
  });

  it('a success resets the account count', async () => {
    const email = 'reset@example.com';
    await t.createUser(email);
    const ip = '10.0.2.1';
    for (let i = 0; i < 2; i++) {
      expect(codeOf(await login(t, ip, email, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    expect((await login(t, ip, email, PASSWORD)).errors).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      expect(codeOf(await login(t, ip, email, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    expect((await login(t, ip, email, PASSWORD)).errors).toBeUndefined();
    // The address keeps its count: a success clears only the account.
    expect((await row(t, `address:${ip}`))?.failures).toBe(4);
  });

  it('counts an email however it is capitalised', async () => {
    const email = 'casing@example.com';
    await t.createUser(email);
    const ip = '10.0.3.1';
    for (const variant of ['Casing@Example.com', 'casing@EXAMPLE.com', 'CASING@EXAMPLE.COM']) {
      expect(codeOf(await login(t, ip, variant, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await login(t, ip, email, PASSWORD))).toBe('TOO_MANY_REQUESTS');
  });

  it('blocks an address that fails against many accounts, known or not, for every account', async () => {
    const victim = 'victim@example.com';
    await t.createUser(victim);
    await t.createUser('known-a@example.com');
    await t.createUser('known-b@example.com');
    const ip = '10.0.4.1';
    // Two failures per account: no account reaches its limit of 3, the address reaches 6.
    for (const email of ['known-a@example.com', 'known-b@example.com', 'nobody-a@example.com']) {
      for (let i = 0; i < 2; i++) {
        expect(codeOf(await login(t, ip, email, 'wrong password'))).toBe('UNAUTHENTICATED');
      }
    }
    const refused = await login(t, ip, victim, PASSWORD);
    expect(codeOf(refused)).toBe('TOO_MANY_REQUESTS');
    expect(refused.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect(codeOf(await login(t, ip, 'nobody-b@example.com', PASSWORD))).toBe('TOO_MANY_REQUESTS');
    // Another address still signs in, to the same account and to the ones that failed.
    expect((await login(t, '10.0.4.2', victim, PASSWORD)).errors).toBeUndefined();
    expect((await login(t, '10.0.4.2', 'known-a@example.com', PASSWORD)).errors).toBeUndefined();
  });

  it('answers an unknown email exactly like a wrong password, and throttles it too', async () => {
    const known = 'known-c@example.com';
    await t.createUser(known);
    const unknown = 'nobody-c@example.com';
    const wrong = await login(t, '10.0.5.1', known, 'wrong password');
    const missing = await login(t, '10.0.5.2', unknown, 'wrong password');
    expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
    expect(codeOf(missing)).toBe(codeOf(wrong));
    expect(missing.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message);
    expect(missing.errors?.[0]?.extensions).toEqual(wrong.errors?.[0]?.extensions);

    for (let i = 0; i < 2; i++) {
      expect(codeOf(await login(t, '10.0.5.1', known, 'wrong password'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await login(t, '10.0.5.2', unknown, 'wrong password'))).toBe('UNAUTHENTICATED');
    }
    const knownBlocked = await login(t, '10.0.5.1', known, 'wrong password');
    const unknownBlocked = await login(t, '10.0.5.2', unknown, 'wrong password');
    expect(codeOf(knownBlocked)).toBe('TOO_MANY_REQUESTS');
    expect(codeOf(unknownBlocked)).toBe('TOO_MANY_REQUESTS');
    expect(Object.keys(unknownBlocked.errors![0]!.extensions!).sort()).toEqual(
      Object.keys(knownBlocked.errors![0]!.extensions!).sort(),
    );
    const unknownRow = await row(t, `account:${unknown}`);
    expect(unknownRow?.failures).toBe(3);
    expect(unknownRow?.blockedUntil).toBeInstanceOf(Date);
  });

  it('loses no update under concurrent failures', async () => {
    const email = 'parallel@example.com';
    await t.createUser(email);
    // Through the service: 20 failures at once, each on its own EntityManager.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        t.app.services.loginThrottle.recordFailure(t.app.db.orm.em.fork(), email, '10.0.6.1'),
      ),
    );
    const account = await row(t, `account:${email}`);
    expect(account?.failures).toBe(20);
    expect(account?.blockedUntil?.getTime()).toBeGreaterThan(Date.now());
    expect((await row(t, 'address:10.0.6.1'))?.failures).toBe(20);
  });

  it('counts every concurrent failed sign-in that was not refused', async () => {
    const email = 'parallel-http@example.com';
    await t.createUser(email);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(t, `10.0.7.${i + 1}`, email, 'wrong password')),
    );
    const codes = results.map(codeOf);
    expect(codes.every((c) => c === 'UNAUTHENTICATED' || c === 'TOO_MANY_REQUESTS')).toBe(true);
    const failed = codes.filter((c) => c === 'UNAUTHENTICATED').length;
    expect(failed).toBeGreaterThanOrEqual(3);
    const account = await row(t, `account:${email}`);
    // Refused attempts are not counted; every attempt that was checked is, none lost.
    expect(account?.failures).toBe(failed);
    expect(account?.blockedUntil?.getTime()).toBeGreaterThan(Date.now());
  });
});

describe('login throttle across nodes', () => {
  let storage: TestStorage;
  const env = { ...ENV, LOGIN_BLOCK_SECONDS: '120' };

  beforeAll(async () => {
    storage = await createTestStorage();
  });
  afterAll(() => storage?.cleanup());

  it('keeps the counts in the database, so another app on the same storage sees them', async () => {
    const email = 'shared@example.com';
    const first = await createTestApp(storage, env);
    let firstOpen = true;
    let second: TestApp | undefined;
    try {
      await first.createUser(email);
      for (let i = 0; i < 2; i++) {
        expect(codeOf(await login(first, '10.0.8.1', email, 'wrong password'))).toBe(
          'UNAUTHENTICATED',
        );
      }
      // PGlite admits one app at a time; PostgreSQL serves both at once.
      if (storage.kind === 'embedded') {
        firstOpen = false;
        await first.close();
      }
      second = await createTestApp(storage, env);
      // The third failure, on the other node, reaches the limit of 3.
      expect(codeOf(await login(second, '10.0.8.2', email, 'wrong password'))).toBe(
        'UNAUTHENTICATED',
      );
      const blocked = await login(second, '10.0.8.3', email, PASSWORD);
      expect(codeOf(blocked)).toBe('TOO_MANY_REQUESTS');
      expect(blocked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(60);
      if (storage.kind === 'postgres') {
        expect(codeOf(await login(first, '10.0.8.4', email, PASSWORD))).toBe('TOO_MANY_REQUESTS');
      }
    } finally {
      await second?.close();
      if (firstOpen) await first.close();
    }
  });
});
