import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { FeatureState, MultivariateStateValue } from '../../src/features/feature-state.entity';
import { Identity, Trait, TraitValueType } from '../../src/identities/identity.entity';
import type { GrantableKey } from '../../src/permissions/keys';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

interface TraitRow {
  key: string;
  value: unknown;
  valueType: string;
}

interface OverrideRow {
  id: string;
  enabled: boolean;
  value: unknown;
  kind: string;
  feature: { name: string } | null;
  multivariateAllocations: { option: { key: string }; percentageAllocation: number }[];
}

interface IdentityRow {
  id: string;
  uuid: string;
  identifier: string;
  createdAt: string;
  environment: { id: string } | null;
  traits: TraitRow[];
  overrides: OverrideRow[];
}

const OVERRIDE_FIELDS =
  'id enabled value kind feature { name } multivariateAllocations { option { key } percentageAllocation }';
const IDENTITY_FIELDS = `id uuid identifier createdAt environment { id } traits { key value valueType }
  overrides { ${OVERRIDE_FIELDS} }`;
const LIST = `query($e: ID!, $s: String, $l: Int, $a: String) {
  identities(environmentId: $e, filter: { search: $s }, first: $l, after: $a) {
    nodes { identifier } pageInfo { endCursor } } }`;
const GET = `query($id: ID!) { identity(id: $id) { ${IDENTITY_FIELDS} } }`;
const CREATE = `mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { ${IDENTITY_FIELDS} } }`;
const UPDATE_TRAITS = `mutation($id: ID!, $t: [TraitInput!]!) {
  updateIdentityTraits(id: $id, traits: $t) { ${IDENTITY_FIELDS} } }`;
const DELETE = 'mutation($id: ID!) { deleteIdentity(id: $id) }';
const SET_OVERRIDE = `mutation($id: ID!, $f: ID!, $i: FeatureStateInput!) {
  setIdentityOverride(identityId: $id, featureId: $f, input: $i) { ${OVERRIDE_FIELDS} } }`;
const DELETE_OVERRIDE =
  'mutation($id: ID!, $f: ID!) { deleteIdentityOverride(identityId: $id, featureId: $f) }';

describe('identities, traits and identity overrides', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let prod: string;
  let dev: string;
  let feature: string;
  let plainFeature: string;
  let foreignFeature: string;
  let options: { id: string; key: string }[];
  const em = () => t.app.db.orm.em.fork();

  async function rows() {
    const e = em();
    return {
      identities: await e.count(Identity, {}),
      traits: await e.count(Trait, {}),
      states: await e.count(FeatureState, {}),
      shares: await e.count(MultivariateStateValue, {}),
      audit: await e.count(AuditLog, {}),
    };
  }

  const lastLog = async () =>
    (await em().find(AuditLog, {}, { orderBy: { id: 'desc' }, limit: 1 }))[0];

  async function stamp(envId: string): Promise<number> {
    const res = ok(
      await t.gql<{ environment: { updatedAt: string } }>(
        'query($id: ID!) { environment(id: $id) { updatedAt } }',
        { id: envId },
        { token: admin },
      ),
    );
    // Keep consecutive writes apart on the millisecond clock.
    await new Promise((r) => setTimeout(r, 5));
    return Date.parse(res.environment.updatedAt);
  }

  /** Runs a write and checks whether it moved the environment's document stamp. */
  async function stamped<T>(envId: string, moves: boolean, write: () => Promise<T>): Promise<T> {
    const before = await stamp(envId);
    const result = await write();
    const after = await stamp(envId);
    if (moves) expect(after).toBeGreaterThan(before);
    else expect(after).toBe(before);
    return result;
  }

  const create = (input: Record<string, unknown>, token = admin) =>
    t.gql<{ createIdentity: IdentityRow }>(
      CREATE,
      { i: { environmentId: prod, ...input } },
      { token },
    );
  const get = async (id: string) =>
    ok(await t.gql<{ identity: IdentityRow }>(GET, { id }, { token: admin })).identity;
  const page = async (
    s: string | null,
    extra: { l?: number; a?: string | null; e?: string } = {},
  ) =>
    ok(
      await t.gql<{
        identities: { nodes: { identifier: string }[]; pageInfo: { endCursor: string | null } };
      }>(LIST, { e: extra.e ?? prod, s, l: extra.l, a: extra.a }, { token: admin }),
    ).identities;
  const search = async (
    s: string | null,
    extra: { l?: number; a?: string | null; e?: string } = {},
  ) => (await page(s, extra)).nodes.map((i) => i.identifier);
  const setOverride = (identityId: string, input: Record<string, unknown>, f = feature) =>
    t.gql<{ setIdentityOverride: OverrideRow }>(
      SET_OVERRIDE,
      { id: identityId, f, i: input },
      { token: admin },
    );
  const fieldOf = (res: Pick<GqlResult, 'errors'>) => res.errors?.[0]?.extensions?.field;

  const member = (email: string, keys: GrantableKey[], envId = prod) =>
    memberWithGrants(t, ws, email, [{ keys, environment: envId }]);

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('admin@acme.test')).token;
    ws = await createWorkspace(t, admin);
    prod = ws.environments.Production!;
    dev = ws.environments.Development!;
    const created = ok(
      await t.gql<{
        createFeature: { id: string; multivariateOptions: { id: string; key: string }[] };
      }>(
        `mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout", initialValue: "old",
          multivariateOptions: [{ key: "blue", value: "blue", defaultPercentageAllocation: 10 },
                                { key: "green", value: "green", defaultPercentageAllocation: 10 }] })
          { id multivariateOptions { id key } } }`,
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature;
    feature = created.id;
    options = created.multivariateOptions;
    plainFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "banner", initialValue: "7", defaultEnabled: true }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature.id;
    const otherProject = ok(
      await t.gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Mobile" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createProject.id;
    foreignFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout" }) { id } }',
        { p: otherProject },
        { token: admin },
      ),
    ).createFeature.id;
  });
  afterAll(() => t?.close());

  it('creates an identity with typed traits and reads them back with their types', async () => {
    const before = await rows();
    // Literals in the query text: `2.0` stays a float, `null` sets nothing.
    const res = await stamped(prod, false, () =>
      t.gql<{ createIdentity: IdentityRow }>(
        `mutation($e: ID!) { createIdentity(input: { environmentId: $e, identifier: "User-42", traits: [
          { key: "age", value: 31 }, { key: "ratio", value: 0.5 }, { key: "whole", value: 2.0 },
          { key: "beta", value: true }, { key: "plan", value: "pro" }, { key: "numeric", value: "42" },
          { key: "gone", value: null }] }) { ${IDENTITY_FIELDS} } }`,
        { e: prod },
        { token: admin },
      ),
    );
    const identity = ok(res).createIdentity;
    expect(identity).toMatchObject({
      identifier: 'User-42',
      environment: { id: prod },
      overrides: [],
      traits: [
        { key: 'age', value: 31, valueType: 'INT' },
        { key: 'beta', value: true, valueType: 'BOOL' },
        { key: 'numeric', value: '42', valueType: 'STRING' },
        { key: 'plan', value: 'pro', valueType: 'STRING' },
        { key: 'ratio', value: 0.5, valueType: 'FLOAT' },
        { key: 'whole', value: 2, valueType: 'FLOAT' },
      ],
    });
    expect(identity.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await get(identity.id)).toEqual(identity);

    // Stored in the column of their type.
    const stored = await em().find(
      Trait,
      { identity: Number(identity.id) },
      { orderBy: { key: 'asc' } },
    );
    expect(stored.map((s) => [s.key, s.valueType])).toEqual([
      ['age', TraitValueType.int],
      ['beta', TraitValueType.bool],
      ['numeric', TraitValueType.unicode],
      ['plan', TraitValueType.unicode],
      ['ratio', TraitValueType.float],
      ['whole', TraitValueType.float],
    ]);
    expect(stored[0]).toMatchObject({ floatValue: null, stringValue: null });
    expect(String(stored[0]!.integerValue)).toBe('31');
    expect(stored[5]).toMatchObject({ floatValue: 2, integerValue: null });

    const after = await rows();
    expect(after).toEqual({
      ...before,
      identities: before.identities + 1,
      traits: before.traits + 6,
      audit: before.audit + 1,
    });
    const log = await lastLog();
    expect(log).toMatchObject({
      relatedObjectType: AuditObjectType.IDENTITY,
      relatedObjectId: identity.id,
      log: 'New identity created: User-42',
    });

    // Through JSON variables: a whole number is an integer, others are floats.
    const viaVars = ok(
      await create({
        identifier: 'vars',
        traits: [
          { key: 'n', value: 7 },
          { key: 'x', value: 7.25 },
          { key: 'b', value: false },
          { key: 'big', value: 2 ** 60 },
          { key: 'neg', value: -3 },
          { key: 's', value: '' },
        ],
      }),
    ).createIdentity;
    expect(viaVars.traits).toEqual([
      { key: 'b', value: false, valueType: 'BOOL' },
      { key: 'big', value: 2 ** 60, valueType: 'FLOAT' },
      { key: 'n', value: 7, valueType: 'INT' },
      { key: 'neg', value: -3, valueType: 'INT' },
      { key: 's', value: '', valueType: 'STRING' },
      { key: 'x', value: 7.25, valueType: 'FLOAT' },
    ]);
  });

  it('lists identities of one environment, searching identifiers case-insensitively', async () => {
    for (const identifier of ['alice@example.com', 'ALICE.smith', 'bob', '100%_sure', '100 sure']) {
      ok(await create({ identifier }));
    }
    ok(await create({ environmentId: dev, identifier: 'alice-dev' }));

    expect(await search('alice')).toEqual(['alice@example.com', 'ALICE.smith']);
    expect(await search('aLiCe', { e: dev })).toEqual(['alice-dev']);
    // LIKE wildcards are literal.
    expect(await search('%')).toEqual(['100%_sure']);
    expect(await search('0_s')).toEqual([]);
    expect(await search('%_')).toEqual(['100%_sure']);
    expect(await search('no such')).toEqual([]);
    // By id, paged; an empty search lists all.
    const all = await search(null);
    expect(all).toEqual([
      'User-42',
      'vars',
      'alice@example.com',
      'ALICE.smith',
      'bob',
      '100%_sure',
      '100 sure',
    ]);
    const firstPage = await page('', { l: 1 });
    expect(await search('', { l: 2, a: firstPage.pageInfo.endCursor })).toEqual([
      'vars',
      'alice@example.com',
    ]);
    const bad = await t.gql(LIST, { e: prod, l: 101 }, { token: admin });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('refuses a duplicate identifier in the same environment with CONFLICT, writing nothing', async () => {
    const before = await rows();
    const res = await create({ identifier: 'bob', traits: [{ key: 'k', value: 1 }] });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'input.identifier',
    });
    expect(await rows()).toEqual(before);
    // Identifiers are case-sensitive, and per environment.
    ok(await create({ identifier: 'Bob' }));
    ok(await create({ environmentId: dev, identifier: 'bob' }));
  });

  it('upserts traits, deletes those set to null and keeps the rest', async () => {
    const id = ok(
      await create({
        identifier: 'carol',
        traits: [
          { key: 'plan', value: 'free' },
          { key: 'age', value: 40 },
          { key: 'beta', value: true },
          { key: 'city', value: 'Oslo' },
        ],
      }),
    ).createIdentity.id;
    const before = await rows();
    const updated = ok(
      await stamped(prod, false, () =>
        t.gql<{ updateIdentityTraits: IdentityRow }>(
          UPDATE_TRAITS,
          {
            id,
            t: [
              { key: 'plan', value: 'enterprise' },
              { key: 'age', value: null },
              { key: 'score', value: 1.5 },
              { key: 'beta', value: 'yes' },
              { key: 'never-set', value: null },
            ],
          },
          { token: admin },
        ),
      ),
    ).updateIdentityTraits;
    expect(updated.traits).toEqual([
      { key: 'beta', value: 'yes', valueType: 'STRING' },
      { key: 'city', value: 'Oslo', valueType: 'STRING' },
      { key: 'plan', value: 'enterprise', valueType: 'STRING' },
      { key: 'score', value: 1.5, valueType: 'FLOAT' },
    ]);
    expect((await get(id)).traits).toEqual(updated.traits);
    expect(await rows()).toEqual({ ...before, audit: before.audit + 1 });
    const log = await lastLog();
    expect(log).toMatchObject({
      relatedObjectType: AuditObjectType.IDENTITY,
      log: 'Identity traits updated: carol',
      before: { traits: { age: 40, beta: true, city: 'Oslo', plan: 'free' } },
      after: { traits: { beta: 'yes', city: 'Oslo', plan: 'enterprise', score: 1.5 } },
    });
    // A changed type moves the value to its column.
    const beta = await em().findOneOrFail(Trait, { identity: Number(id), key: 'beta' });
    expect(beta).toMatchObject({
      valueType: TraitValueType.unicode,
      stringValue: 'yes',
      booleanValue: null,
    });
  });

  it('refuses invalid input with the exact field, writing nothing', async () => {
    const id = ok(await create({ identifier: 'dave', traits: [{ key: 'k', value: 1 }] }))
      .createIdentity.id;
    const before = await rows();
    const long = 'k'.repeat(201);
    const cases: [string, GqlResult, string][] = [
      ['empty identifier', await create({ identifier: '' }), 'input.identifier'],
      ['blank identifier', await create({ identifier: '   ' }), 'input.identifier'],
      ['long identifier', await create({ identifier: 'x'.repeat(2001) }), 'input.identifier'],
      [
        '201-char key',
        await create({ identifier: 'eve', traits: [{ key: long, value: 1 }] }),
        'input.traits.0.key',
      ],
      [
        'empty key',
        await create({
          identifier: 'eve',
          traits: [
            { key: 'a', value: 1 },
            { key: '', value: 1 },
          ],
        }),
        'input.traits.1.key',
      ],
      [
        'duplicate keys',
        await create({
          identifier: 'eve',
          traits: [
            { key: 'a', value: 1 },
            { key: 'b', value: 2 },
            { key: 'a', value: null },
          ],
        }),
        'input.traits.2.key',
      ],
      [
        'long string value',
        await create({ identifier: 'eve', traits: [{ key: 'a', value: 'v'.repeat(2001) }] }),
        'input.traits.0.value',
      ],
      [
        '201-char key in an update',
        await t.gql(
          UPDATE_TRAITS,
          {
            id,
            t: [
              { key: 'ok', value: 1 },
              { key: long, value: 1 },
            ],
          },
          { token: admin },
        ),
        'traits.1.key',
      ],
      [
        'duplicate keys in an update',
        await t.gql(
          UPDATE_TRAITS,
          {
            id,
            t: [
              { key: 'a', value: 1 },
              { key: 'k', value: null },
              { key: 'a', value: 'x' },
            ],
          },
          { token: admin },
        ),
        'traits.2.key',
      ],
      [
        'long string value in an update',
        await t.gql(
          UPDATE_TRAITS,
          { id, t: [{ key: 'a', value: 'v'.repeat(2001) }] },
          { token: admin },
        ),
        'traits.0.value',
      ],
      [
        'unknown environment',
        await create({ environmentId: '999999', identifier: 'eve' }),
        'input.environmentId',
      ],
      ['malformed id', await t.gql(UPDATE_TRAITS, { id: 'abc', t: [] }, { token: admin }), 'id'],
    ];
    for (const [label, res, field] of cases) {
      expect(res.data, label).toBeNull();
      expect(res.errors?.[0]?.extensions, label).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    // A value that is not a string, number or boolean is refused before anything runs.
    for (const value of [{ a: 1 }, [1, 2]]) {
      const res = await t.gql(UPDATE_TRAITS, { id, t: [{ key: 'a', value }] }, { token: admin });
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain('TraitValue');
    }
    const literal = await t.gql(
      'mutation($id: ID!) { updateIdentityTraits(id: $id, traits: [{ key: "a", value: { x: 1 } }]) { id } }',
      { id },
      { token: admin },
    );
    expect(literal.errors).toBeDefined();
    expect(literal.data ?? null).toBeNull();
    // 2001 characters is one too many; 2000 and 200 are fine (shown below, after the count).
    expect(await rows()).toEqual(before);
    const edge = ok(
      await t.gql<{ updateIdentityTraits: IdentityRow }>(
        UPDATE_TRAITS,
        { id, t: [{ key: 'k'.repeat(200), value: 'v'.repeat(2000) }] },
        { token: admin },
      ),
    ).updateIdentityTraits;
    expect(edge.traits.map((tr) => tr.key.length)).toEqual([1, 200]);
  });

  it('creates, changes and deletes identity overrides, bumping the document', async () => {
    const identity = ok(await create({ identifier: 'frank' })).createIdentity;
    const before = await rows();
    const created = ok(
      await stamped(prod, true, () => setOverride(identity.id, { enabled: true })),
    ).setIdentityOverride;
    // Starts from the environment default's value ("old"), with the input applied.
    expect(created).toMatchObject({
      enabled: true,
      value: 'old',
      kind: 'IDENTITY_OVERRIDE',
      feature: { name: 'checkout' },
      multivariateAllocations: [],
    });
    expect(await rows()).toEqual({
      ...before,
      states: before.states + 1,
      audit: before.audit + 1,
    });
    const createdLog = await lastLog();
    expect(createdLog).toMatchObject({
      relatedObjectType: AuditObjectType.FEATURE_STATE,
      relatedObjectId: created.id,
      log: "Identity override created for 'frank': checkout",
    });

    const updated = ok(
      await stamped(prod, true, () =>
        setOverride(identity.id, {
          value: 42,
          multivariateAllocations: [
            { optionId: options[0]!.id, percentageAllocation: 30 },
            { optionId: options[1]!.id, percentageAllocation: 70 },
          ],
        }),
      ),
    ).setIdentityOverride;
    expect(updated).toMatchObject({
      id: created.id,
      enabled: true,
      value: 42,
      multivariateAllocations: [
        { option: { key: 'blue' }, percentageAllocation: 30 },
        { option: { key: 'green' }, percentageAllocation: 70 },
      ],
    });
    const second = ok(
      await setOverride(identity.id, { enabled: false, value: false }, plainFeature),
    ).setIdentityOverride;
    expect(second).toMatchObject({ enabled: false, value: false, feature: { name: 'banner' } });
    expect((await get(identity.id)).overrides.map((o) => [o.feature?.name, o.value])).toEqual([
      ['checkout', 42],
      ['banner', false],
    ]);

    // The environment default is untouched; the document carries the override.
    const env = ok(
      await t.gql<{
        environment: {
          document: {
            identity_overrides: {
              identifier: string;
              identity_features: { enabled: boolean; feature_state_value: unknown }[];
            }[];
          };
        };
        featureStates: { nodes: { enabled: boolean; value: unknown }[] };
      }>(
        'query($e: ID!, $f: ID!) { environment(id: $e) { document } featureStates(environmentId: $e, filter: { featureIds: [$f] }) { nodes { enabled value } } }',
        { e: prod, f: feature },
        { token: admin },
      ),
    );
    expect(env.featureStates.nodes).toEqual([{ enabled: false, value: 'old' }]);
    const doc = env.environment.document.identity_overrides.find((o) => o.identifier === 'frank');
    expect(doc?.identity_features.map((f) => [f.enabled, f.feature_state_value])).toEqual([
      [true, 42],
      [false, false],
    ]);

    // Shares over 100 are refused, on update and on create; nothing is written.
    const beforeBad = await rows();
    const over = await setOverride(identity.id, {
      enabled: false,
      multivariateAllocations: [{ optionId: options[0]!.id, percentageAllocation: 30.01 }],
    });
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.multivariateAllocations',
    });
    const other = ok(await create({ identifier: 'grace' })).createIdentity;
    const beforeCreate = await rows();
    const greedy = await setOverride(other.id, {
      multivariateAllocations: [
        { optionId: options[0]!.id, percentageAllocation: 50 },
        { optionId: options[1]!.id, percentageAllocation: 50.5 },
      ],
    });
    expect(greedy.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.multivariateAllocations',
    });
    expect(await rows()).toEqual(beforeCreate);
    expect(beforeCreate.states).toBe(beforeBad.states);
    expect((await get(identity.id)).overrides[0]!.enabled).toBe(true);

    // A feature of another project, or none at all, is bad input naming featureId.
    for (const f of [foreignFeature, '999999', 'nope']) {
      const res = await setOverride(identity.id, { enabled: true }, f);
      expect(res.errors?.[0]?.extensions, f).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'featureId',
      });
    }
    expect(await rows()).toEqual(beforeCreate);

    const deleted = await stamped(prod, true, () =>
      t.gql(DELETE_OVERRIDE, { id: identity.id, f: feature }, { token: admin }),
    );
    expect(deleted.data).toEqual({ deleteIdentityOverride: created.id });
    const afterDelete = await rows();
    expect(afterDelete.states).toBe(beforeCreate.states - 1);
    expect(afterDelete.shares).toBe(beforeCreate.shares - 2);
    expect(afterDelete.audit).toBe(beforeCreate.audit + 1);
    expect((await get(identity.id)).overrides.map((o) => o.feature?.name)).toEqual(['banner']);
    const again = await t.gql(DELETE_OVERRIDE, { id: identity.id, f: feature }, { token: admin });
    expect(fieldOf(again)).toBe('featureId');
    expect(codeOf(again)).toBe('BAD_USER_INPUT');
  });

  it('deletes identities with their traits and overrides', async () => {
    const withOverride = ok(
      await create({
        identifier: 'henry',
        traits: [
          { key: 'a', value: 1 },
          { key: 'b', value: 2 },
        ],
      }),
    ).createIdentity.id;
    ok(await setOverride(withOverride, { enabled: true }));
    const plain = ok(await create({ identifier: 'ida', traits: [{ key: 'a', value: 1 }] }))
      .createIdentity.id;

    const before = await rows();
    const res = await stamped(prod, false, () => t.gql(DELETE, { id: plain }, { token: admin }));
    expect(res.data).toEqual({ deleteIdentity: plain });
    expect(await rows()).toEqual({
      ...before,
      identities: before.identities - 1,
      traits: before.traits - 1,
      audit: before.audit + 1,
    });
    // Its overrides were in the environment document: that changes.
    await stamped(prod, true, async () =>
      ok(await t.gql(DELETE, { id: withOverride }, { token: admin })),
    );
    const after = await rows();
    expect(after.identities).toBe(before.identities - 2);
    expect(after.traits).toBe(before.traits - 3);
    expect(after.states).toBe(before.states - 1);
    const log = await lastLog();
    expect(log).toMatchObject({
      relatedObjectType: AuditObjectType.IDENTITY,
      changeType: 'DELETE',
      log: 'Identity deleted: henry',
    });
    const gone = await t.gql(GET, { id: withOverride }, { token: admin });
    expect(codeOf(gone)).toBe('NOT_FOUND');
    expect(codeOf(await t.gql(DELETE, { id: withOverride }, { token: admin }))).toBe(
      'BAD_USER_INPUT',
    );
  });

  describe('permissions', () => {
    let target: string;
    let devTarget: string;

    beforeAll(async () => {
      target = ok(
        await create({ identifier: 'perm-target', traits: [{ key: 'plan', value: 'pro' }] }),
      ).createIdentity.id;
      ok(await setOverride(target, { enabled: true }));
      devTarget = ok(await create({ environmentId: dev, identifier: 'perm-dev' })).createIdentity
        .id;
    });

    it('lets VIEW_IDENTITIES read but not write: FORBIDDEN names MANAGE_IDENTITIES', async () => {
      const viewer = await member('viewer@acme.test', ['VIEW_ENVIRONMENT', 'VIEW_IDENTITIES']);
      const listed = ok(
        await t.gql<{ identities: { nodes: { identifier: string }[] } }>(
          LIST,
          { e: prod, s: 'perm' },
          { token: viewer },
        ),
      ).identities;
      expect(listed.nodes.map((i) => i.identifier)).toEqual(['perm-target']);
      const read = ok(
        await t.gql<{ identity: IdentityRow }>(GET, { id: target }, { token: viewer }),
      ).identity;
      expect(read).toMatchObject({
        identifier: 'perm-target',
        environment: { id: prod },
        traits: [{ key: 'plan', value: 'pro', valueType: 'STRING' }],
        overrides: [{ enabled: true, kind: 'IDENTITY_OVERRIDE' }],
      });

      const before = await rows();
      const writes: [string, Record<string, unknown>, string][] = [
        [CREATE, { i: { environmentId: prod, identifier: 'x' } }, 'MANAGE_IDENTITIES'],
        [UPDATE_TRAITS, { id: target, t: [{ key: 'plan', value: null }] }, 'MANAGE_IDENTITIES'],
        [DELETE, { id: target }, 'MANAGE_IDENTITIES'],
        [SET_OVERRIDE, { id: target, f: feature, i: { enabled: false } }, 'UPDATE_FEATURE_STATE'],
        [DELETE_OVERRIDE, { id: target, f: feature }, 'UPDATE_FEATURE_STATE'],
      ];
      for (const [mutation, vars, permission] of writes) {
        const res = await t.gql(mutation, vars, { token: viewer });
        expect(res.data, mutation).toBeNull();
        expect(res.errors?.[0]?.extensions, mutation).toMatchObject({
          code: 'FORBIDDEN',
          permission,
        });
      }
      expect(await rows()).toEqual(before);

      // The grant is for Production only: Development's identities do not exist for them.
      expect(codeOf(await t.gql(GET, { id: devTarget }, { token: viewer }))).toBe('NOT_FOUND');
      const devList = await t.gql(LIST, { e: dev }, { token: viewer });
      expect(codeOf(devList)).toBe('NOT_FOUND');
    });

    it('lets MANAGE_IDENTITIES write identities and UPDATE_FEATURE_STATE write overrides', async () => {
      const manager = await member('manager@acme.test', [
        'VIEW_ENVIRONMENT',
        'VIEW_IDENTITIES',
        'MANAGE_IDENTITIES',
      ]);
      const made = ok(
        await t.gql<{ createIdentity: IdentityRow }>(
          CREATE,
          {
            i: { environmentId: prod, identifier: 'by-manager', traits: [{ key: 'a', value: 1 }] },
          },
          { token: manager },
        ),
      ).createIdentity;
      ok(
        await t.gql(
          UPDATE_TRAITS,
          { id: made.id, t: [{ key: 'a', value: 2 }] },
          { token: manager },
        ),
      );
      const override = await t.gql(
        SET_OVERRIDE,
        { id: made.id, f: feature, i: { enabled: true } },
        { token: manager },
      );
      expect(override.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'UPDATE_FEATURE_STATE',
      });
      ok(await t.gql(DELETE, { id: made.id }, { token: manager }));

      const flagger = await member('flagger@acme.test', [
        'VIEW_ENVIRONMENT',
        'VIEW_IDENTITIES',
        'UPDATE_FEATURE_STATE',
      ]);
      const set = ok(
        await t.gql<{ setIdentityOverride: OverrideRow }>(
          SET_OVERRIDE,
          { id: target, f: plainFeature, i: { value: 'x' } },
          { token: flagger },
        ),
      ).setIdentityOverride;
      // Copied from banner's default (enabled, 7), then the value changed.
      expect(set).toMatchObject({ enabled: true, value: 'x' });
      ok(await t.gql(DELETE_OVERRIDE, { id: target, f: plainFeature }, { token: flagger }));
      expect(codeOf(await t.gql(UPDATE_TRAITS, { id: target, t: [] }, { token: flagger }))).toBe(
        'FORBIDDEN',
      );

      // UPDATE_FEATURE_STATE without VIEW_IDENTITIES: the identity cannot be seen at all.
      const blind = await member('blind@acme.test', ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE']);
      const res = await t.gql(
        SET_OVERRIDE,
        { id: target, f: feature, i: { enabled: false } },
        { token: blind },
      );
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'identityId',
      });
      const list = await t.gql(LIST, { e: prod }, { token: blind });
      expect(list.errors?.[0]?.extensions).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'VIEW_IDENTITIES',
      });
    });

    it('hides the environment and overrides from VIEW_IDENTITIES without VIEW_ENVIRONMENT', async () => {
      const narrow = await member('narrow@acme.test', ['VIEW_IDENTITIES']);
      const read = ok(
        await t.gql<{ identity: IdentityRow }>(GET, { id: target }, { token: narrow }),
      ).identity;
      expect(read).toMatchObject({
        identifier: 'perm-target',
        environment: null,
        overrides: [],
        traits: [{ key: 'plan', value: 'pro', valueType: 'STRING' }],
      });
    });

    it('shows an outsider nothing: NOT_FOUND in queries, BAD_USER_INPUT in mutations', async () => {
      const mallory = (await t.createUser('mallory@other.test')).token;
      ok(
        await t.gql(
          'mutation { createOrganisation(input: { name: "Other" }) { id } }',
          {},
          { token: mallory },
        ),
      );
      const queries: [string, Record<string, unknown>, Record<string, unknown>][] = [
        [GET, { id: target }, { id: '999999' }],
        [LIST, { e: prod }, { e: '999999' }],
      ];
      for (const [query, vars, unknown] of queries) {
        const seen = await t.gql(query, vars, { token: mallory });
        const none = await t.gql(query, unknown, { token: mallory });
        expect(seen.data, query).toBeNull();
        expect(codeOf(seen), query).toBe('NOT_FOUND');
        expect(seen.errors?.[0]?.extensions).toEqual(none.errors?.[0]?.extensions);
        expect(seen.errors?.[0]?.message).toBe(none.errors?.[0]?.message);
      }

      const before = await rows();
      const mutations: [string, (id: string) => Record<string, unknown>, string][] = [
        [
          CREATE,
          (id) => ({ i: { environmentId: id, identifier: 'pwned' } }),
          'input.environmentId',
        ],
        [UPDATE_TRAITS, (id) => ({ id, t: [{ key: 'plan', value: 'pwned' }] }), 'id'],
        [DELETE, (id) => ({ id }), 'id'],
        [SET_OVERRIDE, (id) => ({ id, f: feature, i: { enabled: false } }), 'identityId'],
        [DELETE_OVERRIDE, (id) => ({ id, f: feature }), 'identityId'],
      ];
      for (const [mutation, vars, field] of mutations) {
        const real = mutation === CREATE ? prod : target;
        const res = await t.gql(mutation, vars(real), { token: mallory });
        const none = await t.gql(mutation, vars('999999'), { token: mallory });
        expect(res.data, mutation).toBeNull();
        expect(res.errors?.[0]?.extensions, mutation).toMatchObject({
          code: 'BAD_USER_INPUT',
          field,
        });
        expect(res.errors?.[0]?.message.replace(real, 'ID')).toBe(
          none.errors?.[0]?.message.replace('999999', 'ID'),
        );
      }
      expect(await rows()).toEqual(before);

      const anonymous = await t.gql(GET, { id: target });
      expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    });
  });
});
