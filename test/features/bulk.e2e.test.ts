import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { Feature } from '../../src/features/feature.entity';
import { Identity } from '../../src/identities/identity.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

const ARCHIVE =
  'mutation($ids: [ID!]!, $a: Boolean) { archiveFeatures(ids: $ids, archived: $a) { id isArchived } }';
const DELETE = 'mutation($ids: [ID!]!) { deleteFeatures(ids: $ids) }';
const UPDATE_STATES =
  'mutation($items: [FeatureStateChangeInput!]!) { updateFeatureStates(items: $items) { id enabled value environment { name } } }';
const DELETE_IDENTITIES = 'mutation($ids: [ID!]!) { deleteIdentities(ids: $ids) }';

describe('bulk mutations: every item checked, all or nothing', () => {
  let t: TestApp;
  let owner: string;
  let ws: Workspace;
  let other: Workspace;
  const em = () => t.app.db.orm.em.fork();

  beforeAll(async () => {
    t = await createTestApp();
    owner = (await t.createUser('owner@bulk.test')).token;
    ws = await createWorkspace(t, owner, {
      environments: ['Development', 'Staging', 'Production'],
    });
    other = await createWorkspace(t, owner, { organisation: 'Other', project: 'Other' });
  });
  afterAll(() => t.close());

  const newFeature = async (projectId = ws.projectId, initialValue = 'blue') =>
    ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
        {
          i: {
            projectId,
            name: `f_${Math.random().toString(36).slice(2, 10)}`,
            initialValue,
            multivariateOptions: [{ value: 'red', defaultPercentageAllocation: 10 }],
          },
        },
        { token: owner },
      ),
    ).createFeature.id;

  const auditCount = () => em().count(AuditLog, {});

  it('archives and restores features for a holder of CREATE_FEATURE', async () => {
    const ids = [await newFeature(), await newFeature(), await newFeature()];
    const member = await memberWithGrants(t, ws, 'archiver@bulk.test', [
      { keys: ['VIEW_PROJECT', 'CREATE_FEATURE'] },
    ]);
    const archived = ok(
      await t.gql<{ archiveFeatures: { isArchived: boolean }[] }>(
        ARCHIVE,
        { ids },
        { token: member },
      ),
    ).archiveFeatures;
    expect(archived.map((f) => f.isArchived)).toEqual([true, true, true]);
    const restored = ok(
      await t.gql<{ archiveFeatures: { isArchived: boolean }[] }>(
        ARCHIVE,
        { ids: [ids[0], ids[0]], a: false },
        { token: member },
      ),
    ).archiveFeatures;
    expect(restored).toHaveLength(1);
    expect(restored[0]!.isArchived).toBe(false);

    const viewer = await memberWithGrants(t, ws, 'viewer@bulk.test', [{ keys: ['VIEW_PROJECT'] }]);
    const refused = await t.gql(ARCHIVE, { ids }, { token: viewer });
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      permission: 'CREATE_FEATURE',
      field: 'ids.0',
    });
  });

  it('deletes nothing when one feature is out of reach', async () => {
    const mine = [await newFeature(), await newFeature()];
    const theirs = await newFeature(other.projectId);
    const member = await memberWithGrants(t, ws, 'deleter@bulk.test', [
      { keys: ['VIEW_PROJECT', 'DELETE_FEATURE'] },
    ]);
    const before = await auditCount();
    const refused = await t.gql(DELETE, { ids: [...mine, theirs] }, { token: member });
    // The other organisation's feature reads as not existing, naming the item.
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions?.field).toBe('ids.2');
    expect(await em().count(Feature, { id: { $in: [...mine, theirs].map(Number) } })).toBe(3);
    expect(await auditCount()).toBe(before);

    const deleted = ok(
      await t.gql<{ deleteFeatures: string[] }>(DELETE, { ids: mine }, { token: member }),
    );
    expect(deleted.deleteFeatures).toEqual(mine);
    expect(await em().count(Feature, { id: { $in: mine.map(Number) } })).toBe(0);
    expect(await auditCount()).toBe(before + 2); // one FEATURE record each
  });

  it('changes states across environments, checking each environment', async () => {
    const flag = await newFeature();
    const envs = ws.environments;
    const member = await memberWithGrants(t, ws, 'states@bulk.test', [
      { keys: ['VIEW_PROJECT'] },
      { environment: envs.Development!, keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'] },
      { environment: envs.Staging!, keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'] },
      { environment: envs.Production!, keys: ['VIEW_ENVIRONMENT'] },
    ]);
    const item = (env: string, value: string) => ({
      featureId: flag,
      environmentId: envs[env],
      enabled: true,
      value,
    });
    const states = () =>
      t
        .gql<{ featureStates: { nodes: { enabled: boolean; value: string }[] } }>(
          'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { enabled value } } }',
          { e: envs.Development, f: [flag] },
          { token: owner },
        )
        .then((r) => ok(r).featureStates.nodes[0]);

    const refused = await t.gql(
      UPDATE_STATES,
      {
        items: [
          item('Development', 'green'),
          item('Staging', 'green'),
          item('Production', 'green'),
        ],
      },
      { token: member },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      permission: 'UPDATE_FEATURE_STATE',
      field: 'items.2.environmentId',
    });
    expect(await states()).toEqual({ enabled: false, value: 'blue' });

    // A bad item further down undoes the items before it.
    const bad = await t.gql(
      UPDATE_STATES,
      {
        items: [
          item('Development', 'green'),
          {
            ...item('Staging', 'green'),
            multivariateAllocations: [{ optionId: '999999', percentageAllocation: 5 }],
          },
        ],
      },
      { token: member },
    );
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect(String(bad.errors?.[0]?.extensions?.field)).toMatch(/^items\.1/);
    expect(await states()).toEqual({ enabled: false, value: 'blue' });

    const done = ok(
      await t.gql<{
        updateFeatureStates: { enabled: boolean; value: string; environment: { name: string } }[];
      }>(
        UPDATE_STATES,
        { items: [item('Development', 'green'), item('Staging', 'amber')] },
        { token: member },
      ),
    ).updateFeatureStates;
    expect(done).toEqual([
      expect.objectContaining({
        enabled: true,
        value: 'green',
        environment: { name: 'Development' },
      }),
      expect.objectContaining({ enabled: true, value: 'amber', environment: { name: 'Staging' } }),
    ]);
    expect(await states()).toEqual({ enabled: true, value: 'green' });

    const notInProject = await t.gql(
      UPDATE_STATES,
      { items: [{ ...item('Development', 'x'), featureId: await newFeature(other.projectId) }] },
      { token: owner },
    );
    expect(codeOf(notInProject)).toBe('BAD_USER_INPUT');
    expect(notInProject.errors?.[0]?.extensions?.field).toBe('items.0.featureId');
  });

  it('deletes identities all or none, and limits how many one call names', async () => {
    const identify = async (environmentId: string, identifier: string, token = owner) =>
      ok(
        await t.gql<{ createIdentity: { id: string } }>(
          'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
          { i: { environmentId, identifier } },
          { token },
        ),
      ).createIdentity.id;
    const dev = ws.environments.Development!;
    const prod = ws.environments.Production!;
    const a = await identify(dev, 'alice');
    const b = await identify(dev, 'bob');
    const c = await identify(prod, 'carol');
    const member = await memberWithGrants(t, ws, 'identities@bulk.test', [
      { environment: dev, keys: ['VIEW_ENVIRONMENT', 'VIEW_IDENTITIES', 'MANAGE_IDENTITIES'] },
      { environment: prod, keys: ['VIEW_ENVIRONMENT', 'VIEW_IDENTITIES'] },
    ]);
    const refused = await t.gql(DELETE_IDENTITIES, { ids: [a, b, c] }, { token: member });
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions?.field).toBe('ids.2');
    expect(await em().count(Identity, { id: { $in: [a, b, c].map(Number) } })).toBe(3);

    ok(await t.gql(DELETE_IDENTITIES, { ids: [a, b] }, { token: member }));
    expect(await em().count(Identity, { id: { $in: [a, b, c].map(Number) } })).toBe(1);

    const none = await t.gql(DELETE_IDENTITIES, { ids: [] }, { token: owner });
    expect(codeOf(none)).toBe('BAD_USER_INPUT');
    const tooMany = await t.gql(
      DELETE_IDENTITIES,
      { ids: Array.from({ length: 101 }, () => c) },
      { token: owner },
    );
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toMatch(/at most 100/);
  });
});
