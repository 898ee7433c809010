import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import type { EnvironmentDocument } from '../../src/environments/document.types';
import { Environment } from '../../src/environments/environment.entity';
import { FeatureState } from '../../src/features/feature-state.entity';
import { Feature } from '../../src/features/feature.entity';
import { Segment } from '../../src/segments/segment.entity';
import { runCli } from '../support/cli';
import { evaluate, mapEnvironmentDocumentToContext } from '../../src/engine';
import {
  expectedLegacyFlags,
  legacyEnvironmentFile,
  legacyFlags,
  type LegacyFile,
} from '../support/conformance';
import { createTestStorage, type TestStorage } from '../support/database';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import { createTestApp, OrganisationRole, type TestApp } from '../support/test-app';

const DOCUMENT = `query($id: ID!) { environment(id: $id) { document } }`;
const IMPORT = `mutation($i: ImportEnvironmentInput!) { importEnvironment(input: $i) {
  changed environmentCreated serverSideKey environment { id apiKey name } project { name } } }`;

/** The parts of a document that decide evaluation, in a comparable form. */
function essence(doc: {
  feature_states: EnvironmentDocument['feature_states'];
  project: { segments: EnvironmentDocument['project']['segments'] };
}) {
  const state = (s: EnvironmentDocument['feature_states'][number]) => ({
    feature: s.feature.name,
    enabled: s.enabled,
    value: s.feature_state_value,
    seed: String(s.django_id),
    variants: [...s.multivariate_feature_state_values]
      .sort((a, b) => (a.id ?? 0) - (b.id ?? 0))
      .map((v) => [v.multivariate_feature_option.value, v.percentage_allocation]),
  });
  type Rule = EnvironmentDocument['project']['segments'][number]['rules'][number];
  const rule = (r: Rule): unknown => ({
    type: r.type,
    conditions: r.conditions.map((c) => [c.operator, c.property_ || null, c.value]),
    rules: r.rules.map(rule),
  });
  // Which segment override wins for each feature: by priority (none = weakest), then listing.
  const order: Record<string, number[]> = {};
  const ranked = doc.project.segments
    .flatMap((seg, si) =>
      seg.feature_states.map((fs, fi) => ({
        feature: fs.feature.name,
        segment: seg.id,
        key: [fs.feature_segment?.priority ?? Number.MAX_SAFE_INTEGER, si, fi],
      })),
    )
    .sort((a, b) => a.key[0]! - b.key[0]! || a.key[1]! - b.key[1]! || a.key[2]! - b.key[2]!);
  for (const r of ranked) (order[r.feature] ??= []).push(r.segment);
  return {
    order,
    features: [...doc.feature_states].map(state).sort((a, b) => a.feature.localeCompare(b.feature)),
    segments: [...doc.project.segments]
      .sort((a, b) => a.id - b.id)
      .map((s) => ({
        id: s.id,
        name: s.name,
        rules: s.rules.map(rule),
        overrides: s.feature_states.map(state),
      })),
  };
}

// Two tests spawn the CLI (TypeScript compiled on start): slow on a loaded 2-core machine.
describe('importing a Flagsmith environment document', { timeout: 180_000 }, () => {
  let storage: TestStorage;
  let dir: string;
  let file: string;
  let legacy: LegacyFile;

  beforeAll(async () => {
    storage = await createTestStorage();
    dir = mkdtempSync(path.join(tmpdir(), 'flagward-import-'));
    legacy = JSON.parse(readFileSync(legacyEnvironmentFile(), 'utf8')) as LegacyFile;
    file = path.join(dir, 'environment.json');
    writeFileSync(file, JSON.stringify(legacy.environment));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await storage?.cleanup();
  });

  it('imports from the CLI keeping the client key; a second run changes nothing', async () => {
    const first = await runCli(
      ['import-environment', file, '--organisation', 'Acme', '--project', 'Legacy'],
      { env: storage.env },
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Imported into Acme / Legacy');
    expect(first.stdout).toContain(`Client-side key: ${legacy.environment.api_key}`);
    expect(first.stdout).toMatch(/Server-side key: ser\.[A-Za-z0-9]{10,}/);

    // The embedded database admits one process at a time: look, close, import again, look.
    const look = async () => {
      const t = await createTestApp(storage);
      try {
        const em = t.app.db.orm.em.fork();
        const env = await em.findOneOrFail(Environment, { apiKey: legacy.environment.api_key });
        return {
          id: env.id,
          updatedAt: env.updatedAt.getTime(),
          audit: await em.count(AuditLog, {}),
          states: await em.count(FeatureState, {}),
        };
      } finally {
        await t.close();
      }
    };
    const before = await look();
    const second = await runCli(
      ['import-environment', file, '--organisation', 'Acme', '--project', 'Legacy'],
      { env: storage.env },
    );
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Already up to date');
    expect(second.stdout).not.toMatch(/ser\./);
    expect(await look()).toEqual(before);

    const t = await createTestApp(storage);
    try {
      const again = t.app.db.orm.em.fork();
      const env = { id: before.id };
      // What the SDKs will be served says what the imported document said.
      const { token } = await t.createUser('root@example.com', { isSuperuser: true });
      const doc = ok(
        await t.gql<{ environment: { document: EnvironmentDocument } }>(
          DOCUMENT,
          { id: String(env.id) },
          { token },
        ),
      ).environment.document;
      expect(doc.api_key).toBe(legacy.environment.api_key);
      expect(essence(doc)).toEqual(essence(legacy.environment as unknown as EnvironmentDocument));

      // Every identity of the legacy file evaluates, through our engine and the document we
      // now serve, to the flags Flagsmith's API gave it. (That API hashed identities by
      // their database id.)
      const identities = legacy.identities_and_responses ?? [];
      expect(identities.length).toBeGreaterThan(50);
      for (const { identity, response } of identities) {
        const result = evaluate(
          mapEnvironmentDocumentToContext(doc, {
            identity: {
              identifier: identity.identifier,
              key: String(identity.django_id),
              traits: identity.identity_traits,
            },
          }),
        );
        expect(legacyFlags(result), identity.identifier).toEqual(
          expectedLegacyFlags(response.flags),
        );
      }
      expect(await again.count(Segment, { importedId: { $ne: null } })).toBe(4);
    } finally {
      await t.close();
    }
  });

  it('refuses a malformed document whole, naming the bad path', async () => {
    const broken = structuredClone(legacy.environment) as unknown as {
      project: { segments: { rules: { rules: { conditions: { operator: string }[] }[] }[] }[] };
    };
    broken.project.segments[1]!.rules[0]!.rules[0]!.conditions[0]!.operator = 'SOUNDS_LIKE';
    const bad = path.join(dir, 'broken.json');
    writeFileSync(bad, JSON.stringify({ ...broken, api_key: 'brandNewKey123' }));
    const run = await runCli(['import-environment', bad], { env: storage.env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('project.segments.1.rules.0.rules.0.conditions.0.operator');

    const syntax = path.join(dir, 'syntax.json');
    writeFileSync(syntax, '{\n  "api_key": "x",\n  oops\n}');
    const run2 = await runCli(['import-environment', syntax], { env: storage.env });
    expect(run2.code).toBe(2);
    expect(run2.stderr).toContain(`${syntax}:3:`);

    const t = await createTestApp(storage);
    try {
      const em = t.app.db.orm.em.fork();
      expect(await em.count(Environment, { apiKey: 'brandNewKey123' })).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('importing through GraphQL', () => {
  let t: TestApp;
  let legacy: LegacyFile;

  beforeAll(async () => {
    t = await createTestApp();
    legacy = JSON.parse(readFileSync(legacyEnvironmentFile(), 'utf8')) as LegacyFile;
  });
  afterAll(() => t?.close());

  it('lets an organisation admin import, all or nothing', async () => {
    const admin = (await t.createUser('admin@acme.test')).token;
    const ws = await createWorkspace(t, admin, { environments: [] });
    const em = () => t.app.db.orm.em.fork();
    const counts = async () => ({
      features: await em().count(Feature, {}),
      states: await em().count(FeatureState, {}),
      environments: await em().count(Environment, {}),
    });

    const before = await counts();
    const broken = structuredClone(legacy.environment) as unknown as Record<string, unknown> & {
      feature_states: { enabled: unknown }[];
    };
    broken.feature_states[3]!.enabled = 'yes';
    const refused = await t.gql(
      IMPORT,
      { i: { organisationId: ws.organisationId, document: broken } },
      { token: admin },
    );
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions?.field).toBe('input.document.feature_states.3.enabled');
    expect(await counts()).toEqual(before);

    const done = ok(
      await t.gql<{
        importEnvironment: {
          changed: boolean;
          environmentCreated: boolean;
          serverSideKey: string | null;
          environment: { apiKey: string };
          project: { name: string };
        };
      }>(
        IMPORT,
        { i: { organisationId: ws.organisationId, document: legacy.environment } },
        { token: admin },
      ),
    ).importEnvironment;
    expect(done).toMatchObject({
      changed: true,
      environmentCreated: true,
      environment: { apiKey: legacy.environment.api_key },
      project: { name: 'Edge API Test Project' },
    });
    expect(done.serverSideKey).toMatch(/^ser\./);

    const again = ok(
      await t.gql<{ importEnvironment: { changed: boolean; serverSideKey: string | null } }>(
        IMPORT,
        { i: { organisationId: ws.organisationId, document: legacy.environment } },
        { token: admin },
      ),
    ).importEnvironment;
    expect(again).toMatchObject({ changed: false, serverSideKey: null });

    // The same client key cannot land in a second project.
    const elsewhere = await t.gql(
      IMPORT,
      {
        i: {
          organisationId: ws.organisationId,
          projectName: 'Another',
          document: legacy.environment,
        },
      },
      { token: admin },
    );
    expect(codeOf(elsewhere)).toBe('BAD_USER_INPUT');
    expect(elsewhere.errors?.[0]?.extensions?.field).toBe('document.api_key');
  });

  it('refuses members who are not admins, and outsiders as if the organisation were unknown', async () => {
    const admin = (await t.createUser('boss@other.test')).token;
    const ws = await createWorkspace(t, admin, { organisation: 'Other', environments: [] });
    const member = await t.createUser('member@other.test');
    await t.addMember(member.user, ws.organisationId, OrganisationRole.USER);
    const outsider = (await t.createUser('outsider@else.test')).token;
    const doc = { ...legacy.environment, api_key: 'anotherKey42' };

    const forbidden = await t.gql(
      IMPORT,
      { i: { organisationId: ws.organisationId, document: doc } },
      { token: member.token },
    );
    expect(codeOf(forbidden)).toBe('FORBIDDEN');
    const hidden = await t.gql(
      IMPORT,
      { i: { organisationId: ws.organisationId, document: doc } },
      { token: outsider },
    );
    expect(codeOf(hidden)).toBe('BAD_USER_INPUT');
    expect(hidden.errors?.[0]?.extensions?.field).toBe('input.organisationId');
  });
});
