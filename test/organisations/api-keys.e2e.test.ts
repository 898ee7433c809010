import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { OrganisationApiKey } from '../../src/organisations/organisation-api-key.entity';
import { GrantScope, PermissionGrant } from '../../src/permissions/permission-grant.entity';
import { Role, RoleAssignment } from '../../src/roles/role.entity';
import { sha256Hex } from '../../src/shared/ids';
import { codeOf, createWorkspace, ok, type Workspace } from '../support/fixtures';
import { createTestApp, OrganisationRole, type TestApp } from '../support/test-app';

/** Organisation API keys ("Terraform keys"): `Authorization: Api-Key <key>` on GraphQL. */
describe('organisation API keys', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let other: Workspace;
  const em = () => t.app.db.orm.em.fork();

  /** A GraphQL call with an API key. */
  async function withKey<T = Record<string, unknown>>(
    key: string,
    query: string,
    variables: Record<string, unknown> = {},
  ) {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Api-Key ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: T | null; errors?: { extensions?: { code?: string } }[] };
  }
  const code = (res: { errors?: { extensions?: { code?: string } }[] }) =>
    res.errors?.[0]?.extensions?.code;

  async function createKey(input: Record<string, unknown>, token = admin) {
    return t.gql<{
      createOrganisationApiKey: {
        key: string;
        apiKey: { id: string; prefix: string; name: string };
      };
    }>(
      'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { key apiKey { id prefix name isAdmin active } } }',
      { i: { organisationId: ws.organisationId, ...input } },
      { token },
    );
  }

  const CREATE_FEATURE =
    'mutation($p: ID!, $n: String!) { createFeature(input: { projectId: $p, name: $n }) { id name } }';

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('keys-admin@example.com')).token;
    ws = await createWorkspace(t, admin);
    const outsider = (await t.createUser('keys-outsider@example.com')).token;
    other = await createWorkspace(t, outsider, { organisation: 'Other', project: 'Elsewhere' });
  });
  afterAll(() => t?.close());

  it('is shown once, listed by prefix only and stored as a hash', async () => {
    const created = ok(await createKey({ name: 'terraform' })).createOrganisationApiKey;
    expect(created.key).toMatch(/^[2-9A-Za-z]{8}\.[2-9A-Za-z]{32}$/);
    expect(created.apiKey.prefix).toBe(created.key.slice(0, 8));
    const row = await em().findOneOrFail(OrganisationApiKey, Number(created.apiKey.id));
    expect(row.keyHash).toBe(sha256Hex(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(9));
    const listed = ok(
      await t.gql<{ organisationApiKeys: { nodes: Record<string, unknown>[] } }>(
        'query($o: ID!) { organisationApiKeys(organisationId: $o) { nodes { id name prefix isAdmin active revokedAt } } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).organisationApiKeys.nodes;
    expect(listed).toEqual([
      {
        id: created.apiKey.id,
        name: 'terraform',
        prefix: created.key.slice(0, 8),
        isAdmin: true,
        active: true,
        revokedAt: null,
      },
    ]);
    const type = ok(
      await t.gql<{ __type: { fields: { name: string }[] } }>(
        '{ __type(name: "OrganisationApiKey") { fields { name } } }',
        {},
        { token: admin },
      ),
    );
    expect(type.__type.fields.map((f) => f.name)).not.toContain('key');
  });

  it('acts as an organisation admin within its organisation only, and is named in the audit log', async () => {
    const { key } = ok(await createKey({ name: 'ci-admin' })).createOrganisationApiKey;
    const made = await withKey<{ createFeature: { id: string } }>(key, CREATE_FEATURE, {
      p: ws.projectId,
      n: 'made_by_key',
    });
    expect(made.errors).toBeUndefined();
    const log = await em().findOneOrFail(
      AuditLog,
      { log: 'New Flag / Remote Config created: made_by_key' },
      { populate: ['apiKey'] },
    );
    expect(log.author).toBeNull();
    expect(log.apiKey?.name).toBe('ci-admin');
    const read = ok(
      await t.gql<{ auditLogs: { edges: { node: { apiKeyName: string | null } }[] } }>(
        'query($o: ID!) { auditLogs(organisationId: $o, filter: { search: "made_by_key" }) { edges { node { apiKeyName } } } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    );
    expect(read.auditLogs.edges.map((e) => e.node.apiKeyName)).toEqual(['ci-admin']);

    // Another organisation's records do not exist for it.
    const foreign = await withKey(key, CREATE_FEATURE, { p: other.projectId, n: 'intrusion' });
    expect(code(foreign)).toBe('BAD_USER_INPUT');
    const list = await withKey<{ organisations: { nodes: { id: string }[] } }>(
      key,
      '{ organisations { nodes { id } } }',
    );
    expect(list.data?.organisations.nodes.map((o) => o.id)).toEqual([ws.organisationId]);
    // Keys cannot mint keys.
    const mint = await withKey(
      key,
      'mutation($o: ID!) { createOrganisationApiKey(input: { organisationId: $o, name: "x" }) { key } }',
      { o: ws.organisationId },
    );
    expect(code(mint)).toBe('FORBIDDEN');
  });

  it('a non-admin key holds exactly the grants of its roles', async () => {
    const db = em();
    const role = db.create(Role, {
      organisation: Number(ws.organisationId),
      name: 'Feature editors',
    });
    db.create(PermissionGrant, {
      scope: GrantScope.PROJECT,
      organisation: Number(ws.organisationId),
      project: Number(ws.projectId),
      role,
      keys: ['VIEW_PROJECT', 'CREATE_FEATURE'],
    });
    await db.flush();
    const { key } = ok(
      await createKey({ name: 'editor', isAdmin: false, roleIds: [String(role.id)] }),
    ).createOrganisationApiKey;
    expect(await em().count(RoleAssignment, { role: role.id })).toBe(1);
    const made = await withKey(key, CREATE_FEATURE, { p: ws.projectId, n: 'by_editor_key' });
    expect(made.errors).toBeUndefined();
    const env = await withKey(
      key,
      'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Nope" }) { id } }',
      { p: ws.projectId },
    );
    expect(code(env)).toBe('FORBIDDEN');
    const orgUpdate = await withKey(
      key,
      'mutation($o: ID!) { updateOrganisation(id: $o, input: { name: "Hijacked" }) { id } }',
      { o: ws.organisationId },
    );
    expect(code(orgUpdate)).toBe('FORBIDDEN');

    // Without roles it cannot even see the project, like a member without grants.
    const noRoles = ok(await createKey({ name: 'bare', isAdmin: false })).createOrganisationApiKey;
    expect(code(await withKey(noRoles.key, CREATE_FEATURE, { p: ws.projectId, n: 'x' }))).toBe(
      'BAD_USER_INPUT',
    );
    const foreignRole = await createKey({
      name: 'bad',
      isAdmin: false,
      roleIds: ['999999'],
    });
    expect(codeOf(foreignRole)).toBe('BAD_USER_INPUT');
  });

  it('is refused once revoked or expired, and when malformed', async () => {
    const created = ok(await createKey({ name: 'short-lived' })).createOrganisationApiKey;
    expect(
      (await withKey(created.key, CREATE_FEATURE, { p: ws.projectId, n: 'ok_1' })).errors,
    ).toBeUndefined();
    const revoked = ok(
      await t.gql<{ revokeOrganisationApiKey: { active: boolean; revokedAt: string | null } }>(
        'mutation($i: ID!) { revokeOrganisationApiKey(id: $i) { active revokedAt } }',
        { i: created.apiKey.id },
        { token: admin },
      ),
    ).revokeOrganisationApiKey;
    expect(revoked.active).toBe(false);
    expect(revoked.revokedAt).not.toBeNull();
    expect(code(await withKey(created.key, CREATE_FEATURE, { p: ws.projectId, n: 'ok_2' }))).toBe(
      'UNAUTHENTICATED',
    );

    const expiring = ok(
      await createKey({ name: 'expiring', expiresAt: new Date(Date.now() + 1500).toISOString() }),
    ).createOrganisationApiKey;
    expect(
      (await withKey(expiring.key, CREATE_FEATURE, { p: ws.projectId, n: 'ok_3' })).errors,
    ).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1600));
    expect(code(await withKey(expiring.key, CREATE_FEATURE, { p: ws.projectId, n: 'ok_4' }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(codeOf(await createKey({ name: 'past', expiresAt: '2020-01-01T00:00:00Z' }))).toBe(
      'BAD_USER_INPUT',
    );

    for (const bad of [
      '',
      'nonsense',
      `${created.key}x`,
      created.key.replace(/.$/, '2'),
      '{"$ne":null}',
    ])
      expect(code(await withKey(bad, CREATE_FEATURE, { p: ws.projectId, n: 'never' })), bad).toBe(
        'UNAUTHENTICATED',
      );
    expect(await em().count(AuditLog, { log: { $like: '%never%' } })).toBe(0);
  });

  it('only organisation admins manage keys', async () => {
    const member = await t.createUser('keys-member@example.com');
    await t.addMember(member.user, ws.organisationId, OrganisationRole.USER);
    expect(codeOf(await createKey({ name: 'sneaky' }, member.token))).toBe('FORBIDDEN');
    const list = await t.gql(
      'query($o: ID!) { organisationApiKeys(organisationId: $o) { nodes { id } } }',
      { o: ws.organisationId },
      { token: member.token },
    );
    expect(codeOf(list)).toBe('FORBIDDEN');
    const some = await em().findOneOrFail(OrganisationApiKey, { name: 'terraform' });
    const revoke = await t.gql(
      'mutation($i: ID!) { revokeOrganisationApiKey(id: $i) { id } }',
      { i: String(some.id) },
      { token: member.token },
    );
    expect(codeOf(revoke)).toBe('BAD_USER_INPUT');
  });
});
