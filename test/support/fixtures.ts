import { GrantScope, PermissionGrant } from '../../src/permissions/permission-grant.entity';
import { type GqlResult, OrganisationRole, type TestApp } from './test-app';

export interface Workspace {
  readonly organisationId: string;
  readonly projectId: string;
  /** Environment ids by name, in the order given. */
  readonly environments: Record<string, string>;
  /** Client-side keys by environment name. */
  readonly apiKeys: Record<string, string>;
}

/** The first error's `extensions.code`, or undefined. */
export const codeOf = (res: Pick<GqlResult, 'errors'>): unknown =>
  res.errors?.[0]?.extensions?.code;

/** Fails the test with the GraphQL errors when a call did not succeed. */
export function ok<T>(res: GqlResult<T>): T {
  if (res.errors?.length || !res.data)
    throw new Error(`GraphQL failed: ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** Creates an organisation, a project and environments through GraphQL as `token`. */
export async function createWorkspace(
  t: TestApp,
  token: string,
  opts: { organisation?: string; project?: string; environments?: string[] } = {},
): Promise<Workspace> {
  const org = ok(
    await t.gql<{ createOrganisation: { id: string } }>(
      'mutation($n: String!) { createOrganisation(input: { name: $n }) { id } }',
      { n: opts.organisation ?? 'Acme' },
      { token },
    ),
  ).createOrganisation.id;
  const project = ok(
    await t.gql<{ createProject: { id: string } }>(
      'mutation($o: ID!, $n: String!) { createProject(input: { organisationId: $o, name: $n }) { id } }',
      { o: org, n: opts.project ?? 'Web' },
      { token },
    ),
  ).createProject.id;
  const environments: Record<string, string> = {};
  const apiKeys: Record<string, string> = {};
  for (const name of opts.environments ?? ['Development', 'Production']) {
    const env = ok(
      await t.gql<{ createEnvironment: { id: string; apiKey: string } }>(
        'mutation($p: ID!, $n: String!) { createEnvironment(input: { projectId: $p, name: $n }) { id apiKey } }',
        { p: project, n: name },
        { token },
      ),
    ).createEnvironment;
    environments[name] = env.id;
    apiKeys[name] = env.apiKey;
  }
  return { organisationId: org, projectId: project, environments, apiKeys };
}

/** A grant for `memberWithGrants`: on the workspace's project, or on one of its environments. */
export interface TestGrant {
  readonly keys: readonly string[];
  /** An environment id: an environment grant; omitted: a project grant. */
  readonly environment?: string;
  readonly admin?: boolean;
}

/** A new USER member of the workspace's organisation holding `grants`; returns their token. */
export async function memberWithGrants(
  t: TestApp,
  ws: Workspace,
  email: string,
  grants: readonly TestGrant[] = [],
): Promise<string> {
  const { user, token } = await t.createUser(email);
  await t.addMember(user, ws.organisationId, OrganisationRole.USER);
  const em = t.app.db.orm.em.fork();
  for (const g of grants) {
    em.create(PermissionGrant, {
      scope: g.environment ? GrantScope.ENVIRONMENT : GrantScope.PROJECT,
      organisation: Number(ws.organisationId),
      project: Number(ws.projectId),
      environment: g.environment ? Number(g.environment) : null,
      user: user.id,
      keys: [...g.keys] as PermissionGrant['keys'],
      admin: g.admin ?? false,
    });
  }
  await em.flush();
  return token;
}
