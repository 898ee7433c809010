/**
 * The audit-log guarantee, mutation by mutation: every mutation writes its audit records in
 * the same transaction as the change, so a failed change leaves no record and a committed
 * one always has one.
 *
 * CASES must name every Mutation field of the schema (login and logout are exempt, in
 * NOT_AUDITED): a new mutation fails the first test until it gets a case here.
 *
 * Each case runs twice on fresh objects: once committed (there is a new audit record, by the
 * caller, about the declared kind of object), and once with every transaction made to fail
 * at commit (the mutation fails, and leaves no audit record, no webhook delivery and no
 * change of data behind). A mutation that succeeds although every commit fails wrote
 * outside a transaction.
 */
import type { EventSubscriber } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { buildFlagwardSchema } from '../../src/graphql/schema';
import { WebhookDelivery } from '../../src/webhooks/delivery.entity';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import {
  HOOK_URL,
  type MutationCase,
  mutationCases,
  type Prepared,
} from '../support/mutation-cases';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

/** Mutations that change no data and so need no audit record. */
const NOT_AUDITED: Record<string, string> = {
  login: 'authentication, not a change of data',
  logout: "ends the caller's own session: authentication, not a change of data",
  revokeSession: "ends one of the caller's own sessions: authentication, not a change of data",
  logoutEverywhere: "ends the caller's own sessions: authentication, not a change of data",
  requestPasswordReset: 'mails a sign-in link: authentication, not a change of data',
  completeTwoFactorLogin: 'the second step of login: authentication, not a change of data',
  beginTwoFactorSetup:
    'stores a pending seed that does nothing until confirmTwoFactor (which is audited)',
};

/** Tables whose row counts a failed mutation must leave as they were. */
const TABLES = [
  'organisations',
  'organisation_memberships',
  'organisation_api_keys',
  'projects',
  'environments',
  'environment_server_keys',
  'features',
  'feature_states',
  'multivariate_options',
  'multivariate_state_values',
  'feature_segments',
  'segments',
  'segment_rules',
  'segment_conditions',
  'identities',
  'traits',
  'tags',
  'webhooks',
  'webhook_deliveries',
  'permission_grants',
  'model_permission_grants',
  'user_groups',
  'user_group_memberships',
  'roles',
  'role_assignments',
  'user_sessions',
  'user_backup_codes',
  'users',
] as const;

let t: TestApp;
let ws: Workspace;
let admin: string;
let adminId: number;
let adminEmail: string;
/** While set, every transaction fails at commit; `injected` counts the failures. */
let failCommits = false;
let injected = 0;
const checked = new Set<string>();
/** Tests passed, by mutation (two each when all is well). */
const passed = new Map<string, number>();
const pass = (name: string) => passed.set(name, (passed.get(name) ?? 0) + 1);

const em = () => t.app.db.orm.em.fork();

async function sql(query: string, params: unknown[] = []): Promise<unknown[]> {
  return (await em().getConnection().execute(query, params)) as unknown[];
}

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const [r] = (await sql(`select count(*)::int as n from "${table}"`)) as { n: number }[];
    out[table] = r!.n;
  }
  return out;
}

const CASES = mutationCases(() => ({ t, ws, admin, adminId }));

async function run(c: MutationCase, prepared: Prepared): Promise<GqlResult> {
  return t.gql(c.query, prepared.vars ?? {}, { token: admin });
}

async function maxAuditId(): Promise<string> {
  const [r] = (await sql('select coalesce(max(id), 0)::text as id from audit_logs')) as {
    id: string;
  }[];
  return r!.id;
}

describe('every mutation writes its audit records in the transaction of its change', () => {
  beforeAll(async () => {
    t = await createTestApp(undefined, {
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      WEBHOOK_WORKER: 'false',
    });
    adminEmail = 'admin@acme.test';
    const created = await t.createUser(adminEmail);
    admin = created.token;
    adminId = created.user.id;
    ws = await createWorkspace(t, admin);
    // An organisation webhook, so that flag changes and audit records queue deliveries.
    ok(
      await t.gql(
        'mutation($i: CreateOrganisationWebhookInput!) { createOrganisationWebhook(input: $i) { id } }',
        { i: { organisationId: ws.organisationId, url: HOOK_URL, name: 'watcher' } },
        { token: admin },
      ),
    );
    const failing: EventSubscriber = {
      beforeTransactionCommit: () => {
        if (failCommits) {
          injected += 1;
          throw new Error('injected commit failure');
        }
      },
    };
    t.app.db.orm.em.getEventManager().registerSubscriber(failing);
  });

  afterAll(async () => {
    failCommits = false;
    const total = Object.keys(CASES).length;
    const good = [...passed.values()].filter((n) => n === 2).length;
    console.log(
      `audit guarantee: ${checked.size}/${total} mutations checked, ${good} passed both checks ` +
        `(exempt: ${Object.keys(NOT_AUDITED).join(', ')})`,
    );
    await t?.close();
  });

  it('has a case for every mutation of the schema, and none for a mutation it lacks', async () => {
    const mutation = (await buildFlagwardSchema()).getMutationType();
    if (!mutation) throw new Error('the schema has no Mutation type');
    const fields = Object.keys(mutation.getFields()).sort();
    const covered = [...Object.keys(CASES), ...Object.keys(NOT_AUDITED)].sort();
    expect(
      fields.filter((f) => !covered.includes(f)),
      'mutations without a case: add them to CASES',
    ).toEqual([]);
    expect(
      covered.filter((f) => !fields.includes(f)),
      'cases for mutations not in the schema',
    ).toEqual([]);
    expect(
      Object.keys(CASES).filter((f) => f in NOT_AUDITED),
      'both audited and exempt',
    ).toEqual([]);
  });

  describe.each(Object.keys(CASES))('%s', (name) => {
    const c = CASES[name]!;

    it('a committed change has an audit record by the caller', async () => {
      checked.add(name);
      const prepared = (await c.setup?.()) ?? {};
      const since = await maxAuditId();
      const before = await em().count(AuditLog, {});
      const res = await run(c, prepared);
      expect(res.errors, `${name} failed`).toBeUndefined();
      expect(res.data?.[name], `${name} returned nothing`).toBeDefined();

      // New rows are those past the newest id: a deletion may also remove (cascade) older ones.
      const fresh = await em().find(AuditLog, { id: { $gt: since } }, { orderBy: { id: 'desc' } });
      expect(
        fresh.length,
        `${name} committed without an audit record (audit_logs: ${before} rows before, ` +
          `${await em().count(AuditLog, {})} after)`,
      ).toBeGreaterThan(0);
      const newest = fresh[0]!;
      expect(newest.author?.id, `${name}: author of the newest record`).toBe(
        c.author ? c.author() : adminId,
      );
      expect(newest.relatedObjectType, `${name}: relatedObjectType`).toBe(c.type);
      expect(newest.log.trim(), `${name}: log`).not.toBe('');
      pass(name);
    });

    it('a failed change leaves no audit record, no delivery and no change of data', async () => {
      checked.add(name);
      const prepared = (await c.setup?.()) ?? {};
      const since = await maxAuditId();
      const audit = await em().count(AuditLog, {});
      const deliveries = await em().count(WebhookDelivery, {});
      const tables = await counts();
      const rows = await prepared.rows?.();

      let res: GqlResult;
      injected = 0;
      failCommits = true;
      try {
        res = await run(c, prepared);
      } finally {
        failCommits = false;
      }

      expect(
        res.errors,
        `${name} succeeded although every commit failed: it wrote outside a transaction`,
      ).toBeDefined();
      expect(injected, `${name} failed before reaching a commit`).toBeGreaterThan(0);
      expect(await em().count(AuditLog, {}), `${name}: audit_logs rows`).toBe(audit);
      expect(await em().count(AuditLog, { id: { $gt: since } }), `${name}: new audit rows`).toBe(0);
      expect(await em().count(WebhookDelivery, {}), `${name}: webhook_deliveries rows`).toBe(
        deliveries,
      );
      expect(await counts(), `${name}: row counts`).toEqual(tables);
      if (prepared.rows)
        expect(await prepared.rows(), `${name}: the rows it touches`).toEqual(rows);
      pass(name);
    });
  });
});
