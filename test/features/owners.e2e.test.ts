import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserGroup, UserGroupMembership } from '../../src/groups/user-group.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

const UPDATE_FEATURE =
  'mutation($id: ID!, $i: UpdateFeatureInput!) { updateFeature(id: $id, input: $i) { id description owners { email } } }';

describe('feature owners', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let flag: string;
  let editor: string;
  let editorId: number;

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('admin@owners.test')).token;
    ws = await createWorkspace(t, admin);
    flag = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature.id;
    editor = await memberWithGrants(t, ws, 'editor@owners.test', [
      { keys: ['VIEW_PROJECT', 'CREATE_FEATURE'] },
      {
        environment: ws.environments.Development!,
        keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'],
      },
    ]);
    editorId = ok(await t.gql<{ me: { id: string } }>('{ me { id } }', {}, { token: editor })).me
      .id as unknown as number;
  });
  afterAll(() => t.close());

  const owners = async () =>
    ok(
      await t.gql<{ feature: { owners: { email: string }[] } }>(
        'query($id: ID!) { feature(id: $id) { owners { email } } }',
        { id: flag },
        { token: admin },
      ),
    ).feature.owners.map((o) => o.email);

  const defaultState = async () =>
    ok(
      await t.gql<{ featureStates: { nodes: { id: string }[] } }>(
        'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id } } }',
        { e: ws.environments.Development, f: [flag] },
        { token: admin },
      ),
    ).featureStates.nodes[0]!.id;

  it('lets only project admins set owners: FORBIDDEN naming the field, nothing changed', async () => {
    const refused = await t.gql(
      UPDATE_FEATURE,
      { id: flag, i: { description: 'not applied', ownerIds: [String(editorId)] } },
      { token: editor },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      field: 'input.ownerIds',
      permission: 'PROJECT_ADMIN',
    });
    expect(await owners()).toEqual(['admin@owners.test']);
    // The same rule when creating: owners are for project admins to name.
    const created = await t.gql(
      'mutation($p: ID!, $o: [ID!]) { createFeature(input: { projectId: $p, name: "owned", ownerIds: $o }) { id } }',
      { p: ws.projectId, o: [String(editorId)] },
      { token: editor },
    );
    expect(created.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.ownerIds',
      permission: 'PROJECT_ADMIN',
    });
    const features = ok(
      await t.gql<{ features: { nodes: { name: string }[] } }>(
        'query($p: ID!) { features(projectId: $p) { nodes { name } } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).features.nodes.map((f) => f.name);
    expect(features).not.toContain('owned');
    // Without owners in the input the same caller may change the feature.
    ok(await t.gql(UPDATE_FEATURE, { id: flag, i: { description: 'ok' } }, { token: editor }));
  });

  it('with enforceFeatureOwners, only owners (or owner groups) and project admins change a feature', async () => {
    ok(
      await t.gql(
        'mutation($p: ID!) { updateProject(id: $p, input: { enforceFeatureOwners: true }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    );
    const state = await defaultState();
    const changeState = (token: string) =>
      t.gql(
        'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: true }) { enabled } }',
        { id: state },
        { token },
      );
    const refused = await t.gql(
      UPDATE_FEATURE,
      { id: flag, i: { description: 'x' } },
      { token: editor },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions?.reason).toBe('FEATURE_OWNERS_ENFORCED');
    expect(codeOf(await changeState(editor))).toBe('FORBIDDEN');
    expect(
      codeOf(
        await t.gql(
          'mutation($id: ID!) { deleteFeature(id: $id) }',
          { id: flag },
          { token: editor },
        ),
      ),
    ).toBe('FORBIDDEN');

    // An owner group the editor belongs to makes them an owner.
    const em = t.app.db.orm.em.fork();
    const group = em.create(UserGroup, {
      organisation: Number(ws.organisationId),
      name: 'flag keepers',
    });
    em.create(UserGroupMembership, { group, user: Number(editorId) });
    await em.flush();
    ok(
      await t.gql(
        UPDATE_FEATURE,
        { id: flag, i: { groupOwnerIds: [String(group.id)] } },
        { token: admin },
      ),
    );
    ok(await changeState(editor));
    ok(
      await t.gql(
        UPDATE_FEATURE,
        { id: flag, i: { description: 'by an owner' } },
        { token: editor },
      ),
    );
  });
});
