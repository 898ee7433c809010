import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * A sign-in with an unknown e-mail costs what one with a wrong password costs (a decoy
 * Argon2id hash), so response times do not reveal which e-mails have accounts. Run with the
 * production hashing cost, where skipping the hash would save tens of milliseconds.
 */
describe('sign-in timing', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      ARGON2_MEMORY_KIB: '19456',
      ARGON2_ITERATIONS: '2',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
    });
    await t.createUser('timed@example.com');
  });
  afterAll(() => t?.close());

  async function timedLogin(email: string): Promise<number> {
    const started = performance.now();
    const res = await t.gql(
      'mutation($e: String!) { login(input: { email: $e, password: "not the password", mode: TOKEN }) { token } }',
      { e: email },
    );
    const elapsed = performance.now() - started;
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    return elapsed;
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  it('takes as long for an unknown e-mail as for a wrong password', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    const gaps: number[] = [];
    // Interleaved pairs, after a warm-up: the test files around this one load the machine
    // in bursts, and a burst lands on both halves of a pair alike, so the median gap within
    // pairs is the steady figure to compare.
    await timedLogin('timed@example.com');
    await timedLogin('warm-up@example.com');
    for (let i = 0; i < 20; i++) {
      const k = await timedLogin('timed@example.com');
      const u = await timedLogin(`nobody-${i}@example.com`);
      known.push(k);
      unknown.push(u);
      gaps.push(k - u);
    }
    const k = median(known);
    const u = median(unknown);
    const gap = median(gaps);
    // Both pay for a real hash …
    const hashes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await t.app.services.passwords.verifyDecoy('x');
      hashes.push(performance.now() - started);
    }
    const hashMs = median(hashes);
    console.log(
      `sign-in medians: wrong password ${k.toFixed(1)} ms, unknown e-mail ${u.toFixed(1)} ms, gap within pairs ${gap.toFixed(1)} ms, one decoy hash ${hashMs.toFixed(1)} ms`,
    );
    expect(u).toBeGreaterThan(hashMs * 0.5);
    // … and differ by much less than one hash.
    expect(Math.abs(gap)).toBeLessThan(Math.max(hashMs * 0.5, k * 0.25));
  });
});
