import { createWorkspace, ok, type Workspace } from './fixtures';
import { createTestApp, type TestApp } from './test-app';

/** A GraphQL call as one user that fails the test unless it succeeded; resolves to `data`. */
export type Gql = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
) => Promise<T>;

/** GraphQL through `t` as `token`, unwrapped with `ok`. */
export const adminGql =
  (t: TestApp, token: string): Gql =>
  async <T>(query: string, variables: Record<string, unknown> = {}) =>
    ok(await t.gql<T>(query, variables, { token }));

/** A fresh app with an admin (admin@acme.test) owning a workspace, and their GraphQL caller. */
export interface AdminWorkspace {
  readonly t: TestApp;
  readonly token: string;
  readonly ws: Workspace;
  /** The first environment's id and client-side key. */
  readonly envId: string;
  readonly clientKey: string;
  readonly gql: Gql;
}

/** Starts a test app and creates its admin and workspace (one environment per name). */
export async function adminWorkspace(
  environments: string[] = ['Production'],
): Promise<AdminWorkspace> {
  const t = await createTestApp();
  const token = (await t.createUser('admin@acme.test')).token;
  const ws = await createWorkspace(t, token, { environments });
  const first = environments[0]!;
  return {
    t,
    token,
    ws,
    envId: ws.environments[first]!,
    clientKey: ws.apiKeys[first]!,
    gql: adminGql(t, token),
  };
}

/** Creates a server-side key for the environment and returns the key. */
export async function createServerSideKey(
  gql: Gql,
  environmentId: string,
  name = 'backend',
): Promise<string> {
  const created = await gql<{ createServerSideKey: { key: string } }>(
    'mutation($i: CreateServerSideKeyInput!) { createServerSideKey(input: $i) { key } }',
    { i: { environmentId, name } },
  );
  return created.createServerSideKey.key;
}

/** Flags set up in a workspace through GraphQL; features are named by their `name`. */
export interface WorkspaceHelpers {
  /** Creates a feature in the project (`input` without projectId) and records its id. */
  createFeature(input: Record<string, unknown>): Promise<string>;
  /** Creates a segment in the project and returns its id. */
  createSegment(name: string, rules: unknown[]): Promise<string>;
  /** Overrides a feature for a segment in the environment; returns the override's id. */
  createSegmentOverride(
    segmentId: string,
    featureName: string,
    state: Record<string, unknown>,
  ): Promise<string>;
  /** A new segment with `rules`, overriding one feature in the environment. */
  segmentOverride(
    name: string,
    rules: unknown[],
    featureName: string,
    state: { enabled: boolean; value: unknown },
  ): Promise<void>;
  /** The id of a feature's ENVIRONMENT_DEFAULT state in the environment. */
  defaultStateId(featureName: string): Promise<string>;
  /** Applies a FeatureStateInput to a feature state. */
  updateState(id: string, input: Record<string, unknown>): Promise<unknown>;
}

/**
 * Helpers for `ws`'s project and its environment `envId`. Created features' ids are written
 * to `featureIds` by name.
 */
export function workspaceHelpers(
  gql: Gql,
  ws: Workspace,
  envId: string,
  featureIds: Record<string, string> = {},
): WorkspaceHelpers {
  const helpers: WorkspaceHelpers = {
    async createFeature(input) {
      const res = await gql<{ createFeature: { id: string } }>(
        'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
        { i: { projectId: ws.projectId, ...input } },
      );
      featureIds[input.name as string] = res.createFeature.id;
      return res.createFeature.id;
    },

    async createSegment(name, rules) {
      const res = await gql<{ createSegment: { id: string } }>(
        'mutation($i: CreateSegmentInput!) { createSegment(input: $i) { id } }',
        { i: { projectId: ws.projectId, name, rules } },
      );
      return res.createSegment.id;
    },

    async createSegmentOverride(segmentId, featureName, state) {
      const res = await gql<{ createSegmentOverride: { id: string } }>(
        'mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { id } }',
        {
          i: {
            environmentId: envId,
            featureId: featureIds[featureName],
            segmentId,
            ...state,
          },
        },
      );
      return res.createSegmentOverride.id;
    },

    async segmentOverride(name, rules, featureName, state) {
      const segmentId = await helpers.createSegment(name, rules);
      await helpers.createSegmentOverride(segmentId, featureName, state);
    },

    async defaultStateId(featureName) {
      const res = await gql<{ featureStates: { nodes: { id: string; kind: string }[] } }>(
        'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id kind } } }',
        { e: envId, f: [featureIds[featureName]] },
      );
      return res.featureStates.nodes.find((s) => s.kind === 'ENVIRONMENT_DEFAULT')!.id;
    },

    updateState: (id, input) =>
      gql(
        'mutation($id: ID!, $i: FeatureStateInput!) { updateFeatureState(id: $id, input: $i) { id } }',
        { id, i: input },
      ),
  };
  return helpers;
}
