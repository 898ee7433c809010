import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { runCli, runCliInTerminal } from '../support/cli';
import { createTestStorage, type TestStorage } from '../support/database';
import { createTestApp } from '../support/test-app';

/**
 * `createsuperuser` and `changepassword`, as an operator runs them: with flags, with
 * standard input, and answering prompts on a terminal. Each result is checked by signing in.
 */
// Each command is a new Node process compiling the app with ts-node: seconds each, more under load.
describe('user commands', { timeout: 180_000 }, () => {
  let storage: TestStorage;

  beforeAll(async () => {
    storage = await createTestStorage();
  });
  afterAll(() => storage?.cleanup());

  async function canSignIn(email: string, password: string): Promise<boolean> {
    const t = await createTestApp(storage);
    try {
      const res = await t.gql(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { user { isSuperuser } } }',
        { e: email, p: password },
      );
      return !res.errors;
    } finally {
      await t.close();
    }
  }

  /** Signs in and returns a bearer token, or null. */
  async function tokenFor(email: string, password: string): Promise<string | null> {
    const t = await createTestApp(storage);
    try {
      const res = await t.gql<{ login: { token: string } }>(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
        { e: email, p: password },
      );
      return res.data?.login.token ?? null;
    } finally {
      await t.close();
    }
  }

  async function tokenWorks(token: string): Promise<boolean> {
    const t = await createTestApp(storage);
    try {
      return !(await t.gql('{ me { id } }', {}, { token })).errors;
    } finally {
      await t.close();
    }
  }

  it('createsuperuser asks for email and password on a terminal, retrying a mismatch', async () => {
    const run = await runCliInTerminal(
      ['createsuperuser'],
      [
        ['Email: ', 'ops@example.com'],
        ['Password: ', 'first attempt pw'],
        ['Password (again): ', 'does not match!'],
        ['Password: ', 'short'],
        ['Password (again): ', 'short'],
        ['Password: ', 'the final password'],
        ['Password (again): ', 'the final password'],
      ],
      { env: storage.env },
    );
    expect(run.output).toContain('Passwords do not match.');
    expect(run.output).toContain('at least');
    expect(run.output).toContain('Superuser created: ops@example.com');
    expect(run.output).not.toContain('the final password'); // never echoed
    expect(run.code).toBe(0);
    expect(await canSignIn('ops@example.com', 'the final password')).toBe(true);
  });

  it('changepassword sets a new password from standard input or a prompt', async () => {
    const before = await tokenFor('ops@example.com', 'the final password');
    expect(before).not.toBeNull();
    const piped = await runCli(['changepassword', 'OPS@example.com', '--password-stdin'], {
      env: storage.env,
      stdin: 'a piped new password\n',
    });
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toContain('Password changed for ops@example.com.');
    expect(await canSignIn('ops@example.com', 'a piped new password')).toBe(true);
    expect(await canSignIn('ops@example.com', 'the final password')).toBe(false);
    // Sessions made with the old password are over.
    expect(await tokenWorks(before!)).toBe(false);

    const prompted = await runCliInTerminal(
      ['changepassword', 'ops@example.com'],
      [
        ['Password: ', 'typed on a terminal'],
        ['Password (again): ', 'typed on a terminal'],
      ],
      { env: storage.env },
    );
    expect(prompted.code).toBe(0);
    expect(await canSignIn('ops@example.com', 'typed on a terminal')).toBe(true);
  });

  it('fails clearly, with exit code 2, on bad use', async () => {
    const unknown = await runCli(['changepassword', 'nobody@example.com', '--password-stdin'], {
      env: storage.env,
      stdin: 'whatever password',
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No user has the email nobody@example.com');

    const noInput = await runCli(['createsuperuser', '--no-input'], { env: storage.env });
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toContain('--email is required');

    const tooShort = await runCli(
      ['createsuperuser', '--email', 'x@example.com', '--password-stdin'],
      { env: storage.env, stdin: 'short' },
    );
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toContain('--password');

    const duplicate = await runCli(
      ['createsuperuser', '--email', 'OPS@EXAMPLE.COM', '--password-stdin', '--no-input'],
      { env: storage.env, stdin: 'another long password' },
    );
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('already exists');

    // Without a terminal there is nobody to ask.
    const noTerminal = await runCli(['changepassword', 'ops@example.com'], { env: storage.env });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('--password-stdin');
  });

  it('records what the commands changed in the audit log, never a password', async () => {
    const t = await createTestApp(storage);
    try {
      const rows = await t.app.db.orm.em
        .fork()
        .find(AuditLog, { relatedObjectType: AuditObjectType.USER }, { orderBy: { id: 'asc' } });
      expect(rows.map((r) => r.log)).toEqual([
        'Superuser created from the command line: ops@example.com',
        'Password changed from the command line: ops@example.com',
        'Password changed from the command line: ops@example.com',
      ]);
      expect(rows.every((r) => r.author == null && r.organisation == null)).toBe(true);
      const text = JSON.stringify(rows);
      for (const secret of [
        'the final password',
        'a piped new password',
        'typed on a terminal',
        'argon2',
      ])
        expect(text).not.toContain(secret);
    } finally {
      await t.close();
    }
  });
});
