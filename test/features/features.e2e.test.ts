import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment } from '../../src/environments/environment.entity';
import { FeatureState, MultivariateStateValue } from '../../src/features/feature-state.entity';
import { Feature } from '../../src/features/feature.entity';
import { MultivariateOption } from '../../src/features/multivariate-option.entity';
import { GrantScope } from '../../src/permissions/permission-grant.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

interface StateRow {
  id: string;
  enabled: boolean;
  value: unknown;
  kind: string;
  feature: { name: string };
  multivariateAllocations: { option: { key: string }; percentageAllocation: number }[];
}

const STATES = `query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes {
  id enabled value kind feature { name }
  multivariateAllocations { option { key } percentageAllocation } } } }`;

const CREATE = `mutation($i: CreateFeatureInput!) { createFeature(input: $i) {
  id name type initialValue defaultEnabled isServerKeyOnly
  tags { label } owners { id } multivariateOptions { id key value defaultPercentageAllocation } } }`;

describe('features, tags, multivariate options and environment defaults', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  const em = () => t.app.db.orm.em.fork();

  async function rows() {
    const e = em();
    return {
      features: await e.count(Feature, {}),
      states: await e.count(FeatureState, {}),
      options: await e.count(MultivariateOption, {}),
      shares: await e.count(MultivariateStateValue, {}),
    };
  }

  async function updatedAt(envId: string): Promise<number> {
    const env = await em().findOneOrFail(Environment, Number(envId));
    return env.updatedAt.getTime();
  }

  const member = (email: string, grant?: { scope: GrantScope; keys: string[] }) =>
    memberWithGrants(
      t,
      ws,
      email,
      grant
        ? [
            {
              keys: grant.keys,
              environment:
                grant.scope === GrantScope.ENVIRONMENT ? ws.environments.Production : undefined,
            },
          ]
        : [],
    );

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('admin@acme.test')).token;
    ws = await createWorkspace(t, admin);
  });
  afterAll(() => t?.close());

  it('creates a feature with a typed default state in every environment', async () => {
    const before = await updatedAt(ws.environments.Production!);
    const created = ok(
      await t.gql<{ createFeature: { id: string; type: string; owners: { id: string }[] } }>(
        CREATE,
        {
          i: {
            projectId: ws.projectId,
            name: 'max_items',
            initialValue: '42',
            defaultEnabled: true,
          },
        },
        { token: admin },
      ),
    ).createFeature;
    expect(created.type).toBe('STANDARD');
    expect(created.owners).toHaveLength(1); // the creator
    for (const envId of Object.values(ws.environments)) {
      const states = ok(
        await t.gql<{ featureStates: { nodes: StateRow[] } }>(
          STATES,
          { e: envId, f: [created.id] },
          { token: admin },
        ),
      ).featureStates;
      expect(states.nodes).toEqual([
        expect.objectContaining({
          enabled: true,
          value: 42,
          kind: 'ENVIRONMENT_DEFAULT',
          feature: { name: 'max_items' },
        }),
      ]);
    }
    expect(await updatedAt(ws.environments.Production!)).toBeGreaterThan(before);

    // Booleans and strings are typed the same way; an environment made later gets states too.
    for (const [name, initialValue, expected] of [
      ['dark_mode', 'True', true],
      ['banner', 'hello', 'hello'],
      ['huge', '99999999999', '99999999999'],
    ] as const) {
      ok(
        await t.gql(
          CREATE,
          { i: { projectId: ws.projectId, name, initialValue } },
          { token: admin },
        ),
      );
      const states = ok(
        await t.gql<{ featureStates: { nodes: StateRow[] } }>(
          STATES,
          { e: ws.environments.Development },
          { token: admin },
        ),
      ).featureStates;
      expect(states.nodes.find((s) => s.feature.name === name)?.value).toBe(expected);
    }
    const staging = ok(
      await t.gql<{ createEnvironment: { id: string } }>(
        'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Staging" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createEnvironment.id;
    const stagingStates = ok(
      await t.gql<{ featureStates: { nodes: StateRow[] } }>(
        STATES,
        { e: staging },
        { token: admin },
      ),
    ).featureStates;
    expect(stagingStates.nodes.map((s) => s.feature.name)).toEqual([
      'max_items',
      'dark_mode',
      'banner',
      'huge',
    ]);
  });

  it('refuses a second feature with the same name in any case, writing nothing', async () => {
    const before = await rows();
    const res = await t.gql(
      CREATE,
      { i: { projectId: ws.projectId, name: 'MAX_ITEMS' } },
      { token: admin },
    );
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.errors?.[0]?.extensions?.field).toBe('input.name');
    expect(await rows()).toEqual(before);
  });

  it('adds multivariate options with shares in every default; sums over 100 are refused', async () => {
    const feature = ok(
      await t.gql<{
        createFeature: {
          id: string;
          type: string;
          multivariateOptions: { id: string; key: string; value: unknown }[];
        };
      }>(
        CREATE,
        {
          i: {
            projectId: ws.projectId,
            name: 'checkout_flow',
            initialValue: 'control',
            multivariateOptions: [
              { key: 'blue', value: 'blue', defaultPercentageAllocation: 30 },
              { value: 7, defaultPercentageAllocation: 20 },
            ],
          },
        },
        { token: admin },
      ),
    ).createFeature;
    expect(feature.type).toBe('MULTIVARIATE');
    expect(feature.multivariateOptions.map((o) => [o.key, o.value])).toEqual([
      ['blue', 'blue'],
      ['variant-2', 7],
    ]);
    const [state] = ok(
      await t.gql<{ featureStates: { nodes: StateRow[] } }>(
        STATES,
        { e: ws.environments.Production, f: [feature.id] },
        { token: admin },
      ),
    ).featureStates.nodes;
    expect(state!.multivariateAllocations).toEqual([
      { option: { key: 'blue' }, percentageAllocation: 30 },
      { option: { key: 'variant-2' }, percentageAllocation: 20 },
    ]);

    // Defaults over 100 in total.
    const before = await rows();
    const tooMuch = await t.gql(
      'mutation($f: ID!) { createMultivariateOption(featureId: $f, input: { value: "x", defaultPercentageAllocation: 50.01 }) { id } }',
      { f: feature.id },
      { token: admin },
    );
    expect(codeOf(tooMuch)).toBe('BAD_USER_INPUT');
    expect(tooMuch.errors?.[0]?.extensions?.field).toBe('input.defaultPercentageAllocation');
    // A reserved key.
    const control = await t.gql(
      'mutation($f: ID!) { createMultivariateOption(featureId: $f, input: { key: "control", value: "x" }) { id } }',
      { f: feature.id },
      { token: admin },
    );
    expect(codeOf(control)).toBe('BAD_USER_INPUT');
    expect(await rows()).toEqual(before);

    // Per-state shares: valid change, then one that would pass 100 (nothing changes).
    const blue = feature.multivariateOptions[0]!.id;
    const other = feature.multivariateOptions[1]!.id;
    const update = `mutation($id: ID!, $i: FeatureStateInput!) { updateFeatureState(id: $id, input: $i) {
      enabled value multivariateAllocations { option { key } percentageAllocation } } }`;
    const changed = ok(
      await t.gql<{ updateFeatureState: StateRow }>(
        update,
        {
          id: state!.id,
          i: {
            enabled: true,
            value: 'control-2',
            multivariateAllocations: [{ optionId: blue, percentageAllocation: 33.33 }],
          },
        },
        { token: admin },
      ),
    ).updateFeatureState;
    expect(changed).toMatchObject({ enabled: true, value: 'control-2' });
    expect(changed.multivariateAllocations[0]).toEqual({
      option: { key: 'blue' },
      percentageAllocation: 33.33,
    });
    const over = await t.gql(
      update,
      {
        id: state!.id,
        i: {
          enabled: false,
          multivariateAllocations: [{ optionId: other, percentageAllocation: 66.68 }],
        },
      },
      { token: admin },
    );
    expect(codeOf(over)).toBe('BAD_USER_INPUT');
    expect(over.errors?.[0]?.extensions?.field).toBe('input.multivariateAllocations');
    const after = ok(
      await t.gql<{ featureStates: { nodes: StateRow[] } }>(
        STATES,
        { e: ws.environments.Production, f: [feature.id] },
        { token: admin },
      ),
    ).featureStates.nodes[0]!;
    expect(after.enabled).toBe(true); // the rejected write changed nothing

    // Removing every option makes the feature STANDARD again.
    for (const id of [blue, other]) {
      ok(
        await t.gql(
          'mutation($id: ID!) { deleteMultivariateOption(id: $id) }',
          { id },
          {
            token: admin,
          },
        ),
      );
    }
    const reverted = ok(
      await t.gql<{ feature: { type: string } }>(
        'query($id: ID!) { feature(id: $id) { type } }',
        { id: feature.id },
        { token: admin },
      ),
    );
    expect(reverted.feature.type).toBe('STANDARD');
  });

  it('tags, owners, archiving and filtering', async () => {
    const tag = ok(
      await t.gql<{ createTag: { id: string } }>(
        'mutation($p: ID!) { createTag(input: { projectId: $p, label: "backend", color: "#112233" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createTag.id;
    const list = async (args: string) =>
      ok(
        await t.gql<{ features: { nodes: { name: string; tags: { label: string }[] }[] } }>(
          `query($p: ID!) { features(projectId: $p ${args}) { nodes { name tags { label } } } }`,
          { p: ws.projectId },
          { token: admin },
        ),
      ).features.nodes.map((f) => f.name);
    const [banner] = ok(
      await t.gql<{ features: { nodes: { id: string }[] } }>(
        'query($p: ID!) { features(projectId: $p, filter: { search: "bann" }) { nodes { id } } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).features.nodes;
    ok(
      await t.gql(
        'mutation($id: ID!, $t: [ID!]) { updateFeature(id: $id, input: { tagIds: $t, description: "top" }) { id } }',
        { id: banner!.id, t: [tag] },
        { token: admin },
      ),
    );
    expect(await list(`, filter: { tagIds: ["${tag}"] }`)).toEqual(['banner']);
    // Several tags: features carrying all of them.
    const tag2 = ok(
      await t.gql<{ createTag: { id: string } }>(
        'mutation($p: ID!) { createTag(input: { projectId: $p, label: "web" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createTag.id;
    const [dark] = ok(
      await t.gql<{ features: { nodes: { id: string }[] } }>(
        'query($p: ID!) { features(projectId: $p, filter: { search: "dark" }) { nodes { id } } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).features.nodes;
    for (const [id, tags] of [
      [banner!.id, [tag, tag2]],
      [dark!.id, [tag2]],
    ] as const) {
      ok(
        await t.gql(
          'mutation($id: ID!, $t: [ID!]) { updateFeature(id: $id, input: { tagIds: $t }) { id } }',
          { id, t: tags },
          { token: admin },
        ),
      );
    }
    expect(await list(`, filter: { tagIds: ["${tag}", "${tag2}"] }`)).toEqual(['banner']);
    expect((await list(`, filter: { tagIds: ["${tag2}"] }`)).sort()).toEqual([
      'banner',
      'dark_mode',
    ]);

    ok(
      await t.gql(
        'mutation($id: ID!) { updateFeature(id: $id, input: { isArchived: true }) { id } }',
        { id: banner!.id },
        { token: admin },
      ),
    );
    expect(await list('')).not.toContain('banner');
    expect(await list(', filter: { includeArchived: true }')).toContain('banner');

    // An owner must be a member of the organisation.
    const outsider = await t.createUser('nobody@else.test');
    const badOwner = await t.gql(
      'mutation($id: ID!, $o: [ID!]) { updateFeature(id: $id, input: { ownerIds: $o }) { id } }',
      { id: banner!.id, o: [String(outsider.user.id)] },
      { token: admin },
    );
    expect(codeOf(badOwner)).toBe('BAD_USER_INPUT');
    expect(badOwner.errors?.[0]?.extensions?.field).toBe('input.ownerIds.0');
  });

  it('follows Flagsmith keys: VIEW_PROJECT reads, CREATE_FEATURE writes, DELETE_FEATURE deletes', async () => {
    const viewer = await member('viewer@acme.test', {
      scope: GrantScope.PROJECT,
      keys: ['VIEW_PROJECT'],
    });
    const creator = await member('creator@acme.test', {
      scope: GrantScope.PROJECT,
      keys: ['VIEW_PROJECT', 'CREATE_FEATURE'],
    });
    const list = await t.gql<{ features: { nodes: unknown[] } }>(
      'query($p: ID!) { features(projectId: $p) { nodes { name } } }',
      { p: ws.projectId },
      { token: viewer },
    );
    expect(list.data?.features.nodes.length).toBeGreaterThan(0);

    const refused = await t.gql(
      CREATE,
      { i: { projectId: ws.projectId, name: 'viewer_flag' } },
      { token: viewer },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('CREATE_FEATURE');

    const made = ok(
      await t.gql<{ createFeature: { id: string } }>(
        CREATE,
        { i: { projectId: ws.projectId, name: 'creator_flag' } },
        { token: creator },
      ),
    ).createFeature.id;
    const noDelete = await t.gql(
      'mutation($id: ID!) { deleteFeature(id: $id) }',
      { id: made },
      {
        token: creator,
      },
    );
    expect(codeOf(noDelete)).toBe('FORBIDDEN');
    expect(noDelete.errors?.[0]?.message).toContain('DELETE_FEATURE');

    // Environment states need VIEW_ENVIRONMENT / UPDATE_FEATURE_STATE on that environment.
    const noStates = await t.gql(STATES, { e: ws.environments.Production }, { token: creator });
    expect(codeOf(noStates)).toBe('NOT_FOUND');
    const envViewer = await member('env@acme.test', {
      scope: GrantScope.ENVIRONMENT,
      keys: ['VIEW_ENVIRONMENT'],
    });
    const states = ok(
      await t.gql<{ featureStates: { nodes: StateRow[] } }>(
        STATES,
        { e: ws.environments.Production },
        { token: envViewer },
      ),
    ).featureStates;
    const toggle = await t.gql(
      'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: true }) { id } }',
      { id: states.nodes[0]!.id },
      { token: envViewer },
    );
    expect(codeOf(toggle)).toBe('FORBIDDEN');
    expect(toggle.errors?.[0]?.message).toContain('UPDATE_FEATURE_STATE');

    ok(
      await t.gql('mutation($id: ID!) { deleteFeature(id: $id) }', { id: made }, { token: admin }),
    );
  });

  it('shows an outsider nothing: unknown and invisible ids answer alike', async () => {
    const mallory = (await t.createUser('mallory@evil.test')).token;
    await createWorkspace(t, mallory, { organisation: 'Evil' });
    const [someFeature] = ok(
      await t.gql<{ features: { nodes: { id: string }[] } }>(
        'query($p: ID!) { features(projectId: $p) { nodes { id } } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).features.nodes;
    for (const [query, vars] of [
      ['query($id: ID!) { feature(id: $id) { name } }', { id: someFeature!.id }],
      ['query($id: ID!) { features(projectId: $id) { nodes { name } } }', { id: ws.projectId }],
      ['query($id: ID!) { tags(projectId: $id) { nodes { label } } }', { id: ws.projectId }],
      [
        'query($e: ID!) { featureStates(environmentId: $e) { nodes { id } } }',
        { e: ws.environments.Production },
      ],
    ] as const) {
      const res = await t.gql(query, vars, { token: mallory });
      expect(codeOf(res), query).toBe('NOT_FOUND');
    }
    const before = await rows();
    const del = await t.gql(
      'mutation($id: ID!) { deleteFeature(id: $id) }',
      { id: someFeature!.id },
      {
        token: mallory,
      },
    );
    const unknown = await t.gql(
      'mutation($id: ID!) { deleteFeature(id: $id) }',
      { id: '999999' },
      {
        token: mallory,
      },
    );
    expect(codeOf(del)).toBe('BAD_USER_INPUT');
    expect(del.errors?.[0]?.message).toBe(
      unknown.errors?.[0]?.message.replace('999999', someFeature!.id),
    );
    expect(await rows()).toEqual(before);
  });

  it("bumps the environments' updatedAt on every change SDKs would see", async () => {
    const changes: [string, Record<string, unknown>][] = [];
    const made = ok(
      await t.gql<{ createFeature: { id: string } }>(
        CREATE,
        { i: { projectId: ws.projectId, name: 'bump_me' } },
        { token: admin },
      ),
    ).createFeature.id;
    const [state] = ok(
      await t.gql<{ featureStates: { nodes: StateRow[] } }>(
        STATES,
        { e: ws.environments.Production, f: [made] },
        { token: admin },
      ),
    ).featureStates.nodes;
    changes.push(
      [
        'mutation($id: ID!) { updateFeature(id: $id, input: { isServerKeyOnly: true }) { id } }',
        { id: made },
      ],
      [
        'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: true, value: 3 }) { id } }',
        { id: state!.id },
      ],
      [
        'mutation($id: ID!) { createMultivariateOption(featureId: $id, input: { key: "b", value: "b", defaultPercentageAllocation: 10 }) { id } }',
        { id: made },
      ],
      ['mutation($id: ID!) { deleteFeature(id: $id) }', { id: made }],
      [
        'mutation($id: ID!) { updateProject(id: $id, input: { hideDisabledFlags: true }) { id } }',
        { id: ws.projectId },
      ],
      [
        'mutation($id: ID!) { updateOrganisation(id: $id, input: { persistTraitData: false }) { id } }',
        { id: ws.organisationId },
      ],
    );
    for (const [mutation, vars] of changes) {
      const before = await updatedAt(ws.environments.Production!);
      await new Promise((r) => setTimeout(r, 5));
      ok(await t.gql(mutation, vars, { token: admin }));
      expect(await updatedAt(ws.environments.Production!), mutation).toBeGreaterThan(before);
    }
  });

  it('rejects bad values with the field named', async () => {
    for (const [input, field] of [
      [{ projectId: ws.projectId, name: '  ' }, 'input.name'],
      [{ projectId: 'abc', name: 'x' }, 'input.projectId'],
      [{ projectId: ws.projectId, name: 'x', tagIds: ['999999'] }, 'input.tagIds.0'],
    ] as const) {
      const res = await t.gql(CREATE, { i: input }, { token: admin });
      expect(codeOf(res), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    const float = await t.gql(
      'mutation($id: ID!) { updateFeatureState(id: $id, input: { value: 1.5 }) { id } }',
      { id: '1' },
      { token: admin },
    );
    expect(float.errors?.[0]?.message).toContain('integers');
  });
});
