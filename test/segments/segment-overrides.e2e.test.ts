import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../../src/features/feature-state.entity';
import { GrantScope } from '../../src/permissions/permission-grant.entity';
import { Project } from '../../src/projects/project.entity';
import { Segment } from '../../src/segments/segment.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

interface OverrideRow {
  id: string;
  priority: number;
  segment: { name: string } | null;
  feature: { name: string } | null;
  environment: { id: string };
  state: {
    enabled: boolean;
    value: unknown;
    kind: string;
    segmentOverride: { id: string } | null;
    multivariateAllocations: { option: { key: string }; percentageAllocation: number }[];
  };
}

const OVERRIDE_FIELDS = `id priority segment { name } feature { name } environment { id }
  state { enabled value kind segmentOverride { id } multivariateAllocations { option { key } percentageAllocation } }`;
const LIST = `query($e: ID!, $f: ID!) { segmentOverrides(environmentId: $e, featureId: $f) { nodes { ${OVERRIDE_FIELDS} } } }`;
const CREATE = `mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { ${OVERRIDE_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateSegmentOverrideInput!) { updateSegmentOverride(id: $id, input: $i) { ${OVERRIDE_FIELDS} } }`;
const DELETE = 'mutation($id: ID!) { deleteSegmentOverride(id: $id) }';
const REORDER = `mutation($e: ID!, $f: ID!, $ids: [ID!]!) { reorderSegmentOverrides(environmentId: $e, featureId: $f, ids: $ids) { id priority segment { name } } }`;

describe('segment overrides', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let prod: string;
  let dev: string;
  let feature: string;
  let otherFeature: string;
  let options: { id: string; key: string }[];
  const segments: Record<string, string> = {};
  const em = () => t.app.db.orm.em.fork();

  async function rows() {
    const e = em();
    return {
      overrides: await e.count(FeatureSegment, {}),
      states: await e.count(FeatureState, {}),
      shares: await e.count(MultivariateStateValue, {}),
      audit: await e.count(AuditLog, {}),
      segments: await e.count(Segment, {}),
    };
  }

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

  /** Runs a write and checks that it moved the environment's document stamp. */
  async function touching<T>(envId: string, write: () => Promise<T>): Promise<T> {
    const before = await stamp(envId);
    const result = await write();
    expect(await stamp(envId)).toBeGreaterThan(before);
    return result;
  }

  const list = async (envId = prod, featureId = feature) =>
    ok(
      await t.gql<{ segmentOverrides: { nodes: OverrideRow[] } }>(
        LIST,
        { e: envId, f: featureId },
        { token: admin },
      ),
    ).segmentOverrides.nodes;
  const order = async (envId = prod, featureId = feature) =>
    (await list(envId, featureId)).map((o) => [o.segment?.name, o.priority]);
  const create = (input: Record<string, unknown>, token = admin) =>
    t.gql<{ createSegmentOverride: OverrideRow }>(
      CREATE,
      { i: { environmentId: prod, featureId: feature, ...input } },
      { token },
    );

  const member = (
    email: string,
    grants: { scope: GrantScope; keys: string[]; environment?: string }[],
  ) =>
    memberWithGrants(
      t,
      ws,
      email,
      grants.map((g) => ({
        keys: g.keys,
        environment: g.scope === GrantScope.ENVIRONMENT ? g.environment : undefined,
      })),
    );

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
    otherFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "banner" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature.id;
    for (const name of ['beta', 'staff', 'germany', 'mobile']) {
      segments[name] = ok(
        await t.gql<{ createSegment: { id: string } }>(
          'mutation($p: ID!, $n: String!) { createSegment(input: { projectId: $p, name: $n, rules: [] }) { id } }',
          { p: ws.projectId, n: name },
          { token: admin },
        ),
      ).createSegment.id;
    }
    segments.bannerOnly = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!, $f: ID!) { createSegment(input: { projectId: $p, name: "banner only", featureId: $f, rules: [] }) { id } }',
        { p: ws.projectId, f: otherFeature },
        { token: admin },
      ),
    ).createSegment.id;
  });
  afterAll(() => t?.close());

  it('creates overrides at the end or at a priority, keeping priorities 0..n-1', async () => {
    const beta = ok(
      await touching(prod, () =>
        create({
          segmentId: segments.beta,
          enabled: true,
          value: 'new',
          multivariateAllocations: [{ optionId: options[0]!.id, percentageAllocation: 60 }],
        }),
      ),
    ).createSegmentOverride;
    expect(beta).toMatchObject({
      priority: 0,
      segment: { name: 'beta' },
      feature: { name: 'checkout' },
      environment: { id: prod },
      state: {
        enabled: true,
        value: 'new',
        kind: 'SEGMENT_OVERRIDE',
        segmentOverride: { id: beta.id },
        multivariateAllocations: [{ option: { key: 'blue' }, percentageAllocation: 60 }],
      },
    });

    await touching(prod, async () => ok(await create({ segmentId: segments.staff })));
    expect(await order()).toEqual([
      ['beta', 0],
      ['staff', 1],
    ]);
    // Defaults: disabled, no value.
    expect((await list())[1]!.state).toMatchObject({ enabled: false, value: null });

    await touching(prod, async () =>
      ok(await create({ segmentId: segments.germany, priority: 0 })),
    );
    await touching(prod, async () => ok(await create({ segmentId: segments.mobile, priority: 2 })));
    expect(await order()).toEqual([
      ['germany', 0],
      ['beta', 1],
      ['mobile', 2],
      ['staff', 3],
    ]);
    // Other environments and features are separate lists.
    expect(await list(dev)).toEqual([]);
    expect(await list(prod, otherFeature)).toEqual([]);

    const before = await rows();
    const tooFar = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "late", rules: [] }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createSegment.id;
    const afterSegment = await rows();
    const far = await create({ segmentId: tooFar, priority: 5 });
    expect(far.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.priority',
    });
    const negative = await create({ segmentId: tooFar, priority: -1 });
    expect(negative.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.priority',
    });
    expect(await rows()).toEqual(afterSegment);
    expect(afterSegment.overrides).toBe(before.overrides);
    expect(afterSegment.segments).toBe(before.segments + 1);
  });

  it('refuses a second override of the same segment with CONFLICT, writing nothing', async () => {
    const before = await rows();
    const res = await create({ segmentId: segments.beta, enabled: true });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'input.segmentId',
    });
    expect(await rows()).toEqual(before);
    // The same segment may override the feature in another environment.
    ok(await touching(dev, () => create({ environmentId: dev, segmentId: segments.beta })));
  });

  it('updates the state, refusing multivariate shares over 100', async () => {
    const [germany] = await list();
    const updated = ok(
      await touching(prod, () =>
        t.gql<{ updateSegmentOverride: OverrideRow }>(
          UPDATE,
          {
            id: germany!.id,
            i: {
              enabled: true,
              value: 42,
              multivariateAllocations: [
                { optionId: options[0]!.id, percentageAllocation: 30 },
                { optionId: options[1]!.id, percentageAllocation: 70 },
              ],
            },
          },
          { token: admin },
        ),
      ),
    ).updateSegmentOverride;
    expect(updated.state).toMatchObject({
      enabled: true,
      value: 42,
      multivariateAllocations: [
        { option: { key: 'blue' }, percentageAllocation: 30 },
        { option: { key: 'green' }, percentageAllocation: 70 },
      ],
    });
    expect(updated.priority).toBe(0);

    const before = await rows();
    const over = await t.gql(
      UPDATE,
      {
        id: germany!.id,
        i: {
          enabled: false,
          multivariateAllocations: [{ optionId: options[0]!.id, percentageAllocation: 30.01 }],
        },
      },
      { token: admin },
    );
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.multivariateAllocations',
    });
    expect(await rows()).toEqual(before);
    expect((await list())[0]!.state.enabled).toBe(true);

    // On create too: nothing of the override is left behind.
    const late = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "greedy", rules: [] }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createSegment.id;
    const beforeCreate = await rows();
    const greedy = await create({
      segmentId: late,
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
    ok(
      await t.gql('mutation($id: ID!) { deleteSegment(id: $id) }', { id: late }, { token: admin }),
    );

    // An environment default is not changed through here, nor an override as a default.
    const overrideState = await em().findOneOrFail(FeatureState, {
      featureSegment: Number(germany!.id),
    });
    const asDefault = await t.gql(
      'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: false }) { id } }',
      { id: String(overrideState.id) },
      { token: admin },
    );
    expect(codeOf(asDefault)).toBe('BAD_USER_INPUT');
  });

  it('reorders with the full list only', async () => {
    const current = await list();
    const ids = current.map((o) => o.id); // germany, beta, mobile, staff
    const reordered = ok(
      await touching(prod, () =>
        t.gql<{
          reorderSegmentOverrides: { id: string; priority: number; segment: { name: string } }[];
        }>(
          REORDER,
          { e: prod, f: feature, ids: [ids[3], ids[1], ids[0], ids[2]] },
          { token: admin },
        ),
      ),
    ).reorderSegmentOverrides;
    expect(reordered.map((o) => [o.segment.name, o.priority])).toEqual([
      ['staff', 0],
      ['beta', 1],
      ['germany', 2],
      ['mobile', 3],
    ]);
    expect(await order()).toEqual([
      ['staff', 0],
      ['beta', 1],
      ['germany', 2],
      ['mobile', 3],
    ]);

    const devOverride = (await list(dev))[0]!.id;
    const before = await rows();
    for (const [bad, field] of [
      [[ids[0], ids[1], ids[2]], 'ids'],
      [[ids[0], ids[0], ids[1], ids[2]], 'ids.1'],
      [[ids[0], ids[1], ids[2], ids[3], devOverride], 'ids.4'],
      [[ids[0], ids[1], ids[2], '999999'], 'ids.3'],
      [[ids[0], 'x', ids[2], ids[3]], 'ids.1'],
    ] as const) {
      const res = await t.gql(REORDER, { e: prod, f: feature, ids: bad }, { token: admin });
      expect(res.errors?.[0]?.extensions, JSON.stringify(bad)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
    }
    expect(await rows()).toEqual(before);
    expect((await order()).map(([name]) => name)).toEqual(['staff', 'beta', 'germany', 'mobile']);
  });

  it('deletes an override and closes the gap; deleting a segment does too', async () => {
    const [staff, beta] = await list();
    const before = await rows();
    const res = await touching(prod, () => t.gql(DELETE, { id: beta!.id }, { token: admin }));
    expect(res.data).toEqual({ deleteSegmentOverride: beta!.id });
    expect(await order()).toEqual([
      ['staff', 0],
      ['germany', 1],
      ['mobile', 2],
    ]);
    const after = await rows();
    expect(after.overrides).toBe(before.overrides - 1);
    expect(after.states).toBe(before.states - 1);
    expect(after.shares).toBe(before.shares - 1); // beta's 60% share of blue
    expect(codeOf(await t.gql(DELETE, { id: beta!.id }, { token: admin }))).toBe('BAD_USER_INPUT');

    await touching(prod, async () =>
      ok(
        await t.gql(
          'mutation($id: ID!) { deleteSegment(id: $id) }',
          { id: segments.staff },
          { token: admin },
        ),
      ),
    );
    expect(await order()).toEqual([
      ['germany', 0],
      ['mobile', 1],
    ]);
    expect(staff!.segment?.name).toBe('staff');
  });

  it('keeps segments to their project, and feature-specific ones to their feature', async () => {
    const wrongFeature = await create({ segmentId: segments.bannerOnly });
    expect(wrongFeature.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.segmentId',
    });
    expect(wrongFeature.errors?.[0]?.message).toContain('specific to another feature');

    const other = ok(
      await t.gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Other" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createProject.id;
    const otherSegment = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "elsewhere", rules: [] }) { id } }',
        { p: other },
        { token: admin },
      ),
    ).createSegment.id;
    const foreignFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "elsewhere" }) { id } }',
        { p: other },
        { token: admin },
      ),
    ).createFeature.id;
    const before = await rows();
    const segmentElsewhere = await create({ segmentId: otherSegment });
    expect(segmentElsewhere.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.segmentId',
    });
    const featureElsewhere = await create({
      featureId: foreignFeature,
      segmentId: segments.mobile,
    });
    expect(featureElsewhere.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.featureId',
    });
    const listElsewhere = await t.gql(LIST, { e: prod, f: foreignFeature }, { token: admin });
    // A feature of another project reads, in this environment, as no feature at all.
    expect(listElsewhere.errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'featureId',
    });
    expect(await rows()).toEqual(before);

    const own = ok(
      await create({ featureId: otherFeature, segmentId: segments.bannerOnly, enabled: true }),
    ).createSegmentOverride;
    expect(own).toMatchObject({
      priority: 0,
      feature: { name: 'banner' },
      segment: { name: 'banner only' },
    });
  });

  it("enforces the project's override limit per environment", async () => {
    const e = em();
    const used = await e.count(FeatureSegment, { environment: Number(prod) });
    await e.nativeUpdate(
      Project,
      { id: Number(ws.projectId) },
      { maxSegmentOverridesAllowed: used },
    );
    try {
      const before = await rows();
      const res = await create({ segmentId: segments.beta });
      expect(codeOf(res)).toBe('LIMIT_EXCEEDED');
      expect(await rows()).toEqual(before);
      // Development has room left.
      ok(await create({ environmentId: dev, segmentId: segments.germany }));
    } finally {
      await e.nativeUpdate(
        Project,
        { id: Number(ws.projectId) },
        { maxSegmentOverridesAllowed: 2000 },
      );
    }
  });

  it('needs MANAGE_SEGMENT_OVERRIDES on the environment to write', async () => {
    const viewer = await member('viewer@acme.test', [
      { scope: GrantScope.PROJECT, keys: ['VIEW_PROJECT'] },
      { scope: GrantScope.ENVIRONMENT, keys: ['VIEW_ENVIRONMENT'], environment: prod },
    ]);
    const manager = await member('manager@acme.test', [
      { scope: GrantScope.PROJECT, keys: ['VIEW_PROJECT'] },
      {
        scope: GrantScope.ENVIRONMENT,
        keys: ['VIEW_ENVIRONMENT', 'MANAGE_SEGMENT_OVERRIDES'],
        environment: prod,
      },
    ]);
    const [first] = await list();
    const seen = ok(
      await t.gql<{ segmentOverrides: { nodes: OverrideRow[] } }>(
        LIST,
        { e: prod, f: feature },
        { token: viewer },
      ),
    );
    expect(seen.segmentOverrides.nodes.map((o) => o.id)).toEqual((await list()).map((o) => o.id));

    const before = await rows();
    for (const [query, vars] of [
      [CREATE, { i: { environmentId: prod, featureId: feature, segmentId: segments.beta } }],
      [UPDATE, { id: first!.id, i: { enabled: false } }],
      [DELETE, { id: first!.id }],
      [REORDER, { e: prod, f: feature, ids: [first!.id] }],
    ] as const) {
      const res = await t.gql(query, vars, { token: viewer });
      expect(res.data, query).toBeNull();
      expect(res.errors?.[0]?.extensions, query).toMatchObject({
        code: 'FORBIDDEN',
        permission: 'MANAGE_SEGMENT_OVERRIDES',
      });
    }
    expect(await rows()).toEqual(before);

    const made = ok(await create({ segmentId: segments.beta }, manager)).createSegmentOverride;
    expect(made.priority).toBe((await list()).length - 1);
    ok(await t.gql(UPDATE, { id: made.id, i: { enabled: true } }, { token: manager }));
    ok(await t.gql(DELETE, { id: made.id }, { token: manager }));
    // Development is not theirs: it reads as an unknown environment.
    const inDev = await create({ environmentId: dev, segmentId: segments.mobile }, manager);
    expect(inDev.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.environmentId',
    });
  });

  it('shows an outsider nothing: invisible ids answer like unknown ones', async () => {
    const mallory = (await t.createUser('mallory@evil.test')).token;
    const evil = await createWorkspace(t, mallory, { organisation: 'Evil' });
    const evilEnv = evil.environments.Production!;
    const evilFeature = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "mine" }) { id } }',
        { p: evil.projectId },
        { token: mallory },
      ),
    ).createFeature.id;
    const evilSegment = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "mine", rules: [] }) { id } }',
        { p: evil.projectId },
        { token: mallory },
      ),
    ).createSegment.id;
    const [target] = await list();
    type Answer = Pick<GqlResult, 'errors' | 'data'>;
    /** The answer for a real but invisible id equals the one for an id that does not exist. */
    const same = (seen: Answer, unknown: Answer, id: string) => {
      expect(seen.data).toBeNull();
      expect(seen.errors?.[0]?.extensions).toEqual(unknown.errors?.[0]?.extensions);
      expect(seen.errors?.[0]?.message.replace(new RegExp(`\\b${id}\\b`), 'ID')).toBe(
        unknown.errors?.[0]?.message.replace('999999', 'ID'),
      );
    };

    // Queries: NOT_FOUND, for an environment and for a feature alike.
    const envQuery = await t.gql(LIST, { e: prod, f: evilFeature }, { token: mallory });
    same(envQuery, await t.gql(LIST, { e: '999999', f: evilFeature }, { token: mallory }), prod);
    expect(envQuery.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND', field: 'environmentId' });
    const featureQuery = await t.gql(LIST, { e: evilEnv, f: feature }, { token: mallory });
    same(featureQuery, await t.gql(LIST, { e: evilEnv, f: '999999' }, { token: mallory }), feature);
    expect(featureQuery.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND', field: 'featureId' });

    const before = await rows();
    const attempts: [string, (id: string) => Record<string, unknown>, string, string][] = [
      [
        CREATE,
        (id) => ({ i: { environmentId: id, featureId: evilFeature, segmentId: evilSegment } }),
        prod,
        'input.environmentId',
      ],
      [
        CREATE,
        (id) => ({ i: { environmentId: evilEnv, featureId: id, segmentId: evilSegment } }),
        feature,
        'input.featureId',
      ],
      [
        CREATE,
        (id) => ({ i: { environmentId: evilEnv, featureId: evilFeature, segmentId: id } }),
        segments.beta!,
        'input.segmentId',
      ],
      [UPDATE, (id) => ({ id, i: { enabled: false } }), target!.id, 'id'],
      [DELETE, (id) => ({ id }), target!.id, 'id'],
      [REORDER, (id) => ({ e: id, f: evilFeature, ids: [] }), prod, 'environmentId'],
      [REORDER, (id) => ({ e: evilEnv, f: id, ids: [] }), feature, 'featureId'],
    ];
    for (const [query, vars, id, field] of attempts) {
      const res = await t.gql(query, vars(id), { token: mallory });
      expect(res.errors?.[0]?.extensions, `${field} ${query}`).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
      same(res, await t.gql(query, vars('999999'), { token: mallory }), id);
    }
    expect(await rows()).toEqual(before);
  });
});
