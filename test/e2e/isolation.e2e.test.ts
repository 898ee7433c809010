import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.entity';
import { Organisation } from '../../src/organisations/organisation.entity';
import { GrantScope, PermissionGrant } from '../../src/permissions/permission-grant.entity';
import { Project } from '../../src/projects/project.entity';
import { createTestApp, OrganisationRole, type TestApp } from '../support/test-app';

const code = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code;

describe('tenancy, grants and bad input', () => {
  let t: TestApp;
  let alice: string; // ADMIN of Acme
  let mallory: string; // ADMIN of Other, not in Acme
  let bob: string; // USER member of Acme with no grants
  let bobId: number;
  const acme: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp();
    alice = (await t.createUser('alice@acme.test')).token;
    mallory = (await t.createUser('mallory@other.test')).token;
    const b = await t.createUser('bob@acme.test');
    bob = b.token;
    bobId = b.user.id;

    const org = await t.gql<{ createOrganisation: { id: string } }>(
      'mutation { createOrganisation(input: { name: "Acme" }) { id } }',
      {},
      { token: alice },
    );
    acme.org = org.data!.createOrganisation.id;
    const project = await t.gql<{ createProject: { id: string } }>(
      'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Web" }) { id } }',
      { o: acme.org },
      { token: alice },
    );
    acme.project = project.data!.createProject.id;
    const env = await t.gql<{ createEnvironment: { id: string } }>(
      'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Prod" }) { id } }',
      { p: acme.project },
      { token: alice },
    );
    acme.env = env.data!.createEnvironment.id;
    await t.gql(
      'mutation { createOrganisation(input: { name: "Other" }) { id } }',
      {},
      { token: mallory },
    );
    await t.addMember(b.user, acme.org, OrganisationRole.USER);
  });

  afterAll(() => t?.close());

  it('shows an outsider none of another organisation', async () => {
    const list = await t.gql<{
      organisations: { nodes: { name: string }[] };
      projects: { nodes: unknown[] };
    }>('{ organisations { nodes { name } } projects { nodes { id } } }', {}, { token: mallory });
    expect(list.data).toEqual({
      organisations: { nodes: [{ name: 'Other' }] },
      projects: { nodes: [] },
    });

    for (const [query, vars] of [
      ['query($id: ID!) { organisation(id: $id) { name } }', { id: acme.org }],
      ['query($id: ID!) { project(id: $id) { name } }', { id: acme.project }],
      ['query($id: ID!) { environment(id: $id) { name apiKey } }', { id: acme.env }],
      ['query($id: ID!) { environments(projectId: $id) { nodes { name } } }', { id: acme.project }],
    ] as const) {
      const seen = await t.gql(query, vars, { token: mallory });
      const unknown = await t.gql(query, { id: '999999' }, { token: mallory });
      expect(seen.data).toBeNull();
      expect(code(seen)).toBe('NOT_FOUND');
      // Indistinguishable from a record that does not exist.
      expect(seen.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
      expect(seen.errors?.[0]?.extensions).toEqual(unknown.errors?.[0]?.extensions);
    }
  });

  it('lets an outsider change nothing, with answers that do not reveal existence', async () => {
    const before = await t.app.db.orm.em.fork().count(AuditLog, {});
    const attempts = [
      [
        'mutation($id: ID!) { updateOrganisation(id: $id, input: { name: "pwned" }) { id } }',
        { id: acme.org },
      ],
      ['mutation($id: ID!) { deleteOrganisation(id: $id) }', { id: acme.org }],
      [
        'mutation($id: ID!) { createProject(input: { organisationId: $id, name: "x" }) { id } }',
        { id: acme.org },
      ],
      [
        'mutation($id: ID!) { updateProject(id: $id, input: { name: "pwned" }) { id } }',
        { id: acme.project },
      ],
      ['mutation($id: ID!) { deleteProject(id: $id) }', { id: acme.project }],
      [
        'mutation($id: ID!) { createEnvironment(input: { projectId: $id, name: "x" }) { id } }',
        { id: acme.project },
      ],
      [
        'mutation($id: ID!) { updateEnvironment(id: $id, input: { name: "pwned" }) { id } }',
        { id: acme.env },
      ],
      ['mutation($id: ID!) { deleteEnvironment(id: $id) }', { id: acme.env }],
      [
        'mutation($id: ID!) { createServerSideKey(input: { environmentId: $id, name: "x" }) { key } }',
        { id: acme.env },
      ],
      [
        'mutation($id: ID!) { addOrganisationMember(input: { organisationId: $id, email: "mallory@other.test", role: ADMIN }) { id } }',
        { id: acme.org },
      ],
    ] as const;
    for (const [mutation, vars] of attempts) {
      const res = await t.gql(mutation, vars, { token: mallory });
      const unknown = await t.gql(mutation, { id: '999999' }, { token: mallory });
      expect(res.data, mutation).toBeNull();
      expect(code(res), mutation).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message.replace(vars.id ?? '', 'ID')).toBe(
        unknown.errors?.[0]?.message.replace('999999', 'ID'),
      );
    }
    const em = t.app.db.orm.em.fork();
    expect((await em.findOneOrFail(Organisation, Number(acme.org))).name).toBe('Acme');
    expect((await em.findOneOrFail(Project, Number(acme.project))).name).toBe('Web');
    expect(await em.count(AuditLog, {})).toBe(before);
  });

  it('shows a plain member the organisation but not its projects until granted', async () => {
    const res = await t.gql<{
      organisations: { nodes: { name: string; myRole: string; projects: { nodes: unknown[] } }[] };
      projects: { nodes: unknown[] };
    }>(
      '{ organisations { nodes { name myRole projects { nodes { id } } } } projects { nodes { id } } }',
      {},
      { token: bob },
    );
    expect(res.data).toEqual({
      organisations: { nodes: [{ name: 'Acme', myRole: 'USER', projects: { nodes: [] } }] },
      projects: { nodes: [] },
    });
    expect(
      code(
        await t.gql(
          'query($id: ID!) { project(id: $id) { name } }',
          { id: acme.project },
          { token: bob },
        ),
      ),
    ).toBe('NOT_FOUND');
    // A member may see, but not administer: FORBIDDEN (existence is no secret to members).
    const rename = await t.gql(
      'mutation($id: ID!) { updateOrganisation(id: $id, input: { name: "x" }) { id } }',
      { id: acme.org },
      { token: bob },
    );
    expect(code(rename)).toBe('FORBIDDEN');

    const em = t.app.db.orm.em.fork();
    em.create(PermissionGrant, {
      scope: GrantScope.PROJECT,
      organisation: Number(acme.org),
      project: Number(acme.project),
      user: bobId,
      keys: ['VIEW_PROJECT'],
    });
    await em.flush();

    const granted = await t.gql<{
      projects: { nodes: { name: string; environments: { nodes: unknown[] } }[] };
    }>('{ projects { nodes { name environments { nodes { id } } } } }', {}, { token: bob });
    // VIEW_PROJECT shows the project, not its environments.
    expect(granted.data).toEqual({
      projects: { nodes: [{ name: 'Web', environments: { nodes: [] } }] },
    });
    const update = await t.gql(
      'mutation($id: ID!) { updateProject(id: $id, input: { name: "x" }) { id } }',
      { id: acme.project },
      { token: bob },
    );
    expect(code(update)).toBe('FORBIDDEN');
    expect(update.errors?.[0]?.message).toContain('PROJECT_ADMIN');
    const create = await t.gql(
      'mutation($id: ID!) { createEnvironment(input: { projectId: $id, name: "x" }) { id } }',
      { id: acme.project },
      { token: bob },
    );
    expect(code(create)).toBe('FORBIDDEN');
    expect(create.errors?.[0]?.message).toContain('CREATE_ENVIRONMENT');
  });

  it('hides emails from other members, but not from organisation admins', async () => {
    const q =
      'query($id: ID!) { organisation(id: $id) { members { nodes { role user { email } } } } }';
    const asBob = await t.gql<{
      organisation: { members: { nodes: { role: string; user: { email: string | null } }[] } };
    }>(q, { id: acme.org }, { token: bob });
    expect(asBob.data!.organisation.members.nodes).toEqual([
      { role: 'ADMIN', user: { email: null } },
      { role: 'USER', user: { email: 'bob@acme.test' } },
    ]);
    const asAlice = await t.gql<{
      organisation: { members: { nodes: { user: { email: string } }[] } };
    }>(q, { id: acme.org }, { token: alice });
    expect(asAlice.data!.organisation.members.nodes.map((m) => m.user.email)).toEqual([
      'alice@acme.test',
      'bob@acme.test',
    ]);
  });

  it('rejects bad input with BAD_USER_INPUT naming the field, writing nothing', async () => {
    const em = t.app.db.orm.em.fork();
    const orgs = await em.count(Organisation, {});
    const logs = await em.count(AuditLog, {});

    const empty = await t.gql(
      'mutation { createOrganisation(input: { name: "   " }) { id } }',
      {},
      { token: alice },
    );
    expect(code(empty)).toBe('BAD_USER_INPUT');
    expect(empty.errors?.[0]?.extensions?.field).toBe('input.name');
    expect(empty.errors?.[0]?.message).toBe('input.name: name must not be empty');

    const long = await t.gql(
      'mutation($n: String!) { createOrganisation(input: { name: $n }) { id } }',
      { n: 'x'.repeat(2001) },
      { token: alice },
    );
    expect(long.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });

    const wrongType = await t.gql(
      'mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id } }',
      { i: { name: 42 } },
      { token: alice },
    );
    expect(code(wrongType)).toBe('BAD_USER_INPUT');
    expect(wrongType.errors?.[0]?.message).toContain('"i.name"');

    const badId = await t.gql(
      'mutation { createProject(input: { organisationId: "abc", name: "x" }) { id } }',
      {},
      { token: alice },
    );
    expect(badId.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.organisationId',
    });

    const unknownId = await t.gql(
      'mutation { createProject(input: { organisationId: "424242", name: "x" }) { id } }',
      {},
      { token: alice },
    );
    expect(unknownId.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.organisationId',
    });

    const colour = await t.gql(
      'mutation($id: ID!) { updateEnvironment(id: $id, input: { bannerColour: "red" }) { id } }',
      { id: acme.env },
      { token: alice },
    );
    expect(colour.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.bannerColour',
    });

    const nulled = await t.gql(
      'mutation($id: ID!) { updateProject(id: $id, input: { hideDisabledFlags: null }) { id } }',
      { id: acme.project },
      { token: alice },
    );
    expect(nulled.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.hideDisabledFlags',
    });

    const lastAdmin = await t.gql(
      'mutation($o: ID!, $u: ID!) { removeOrganisationMember(organisationId: $o, userId: $u) }',
      {
        o: acme.org,
        u: String(
          (await t.gql<{ me: { id: string } }>('{ me { id } }', {}, { token: alice })).data!.me.id,
        ),
      },
      { token: alice },
    );
    expect(code(lastAdmin)).toBe('CONFLICT');

    expect(await em.count(Organisation, {})).toBe(orgs);
    expect(await em.count(AuditLog, {})).toBe(logs);
  });

  it('answers anonymous callers UNAUTHENTICATED', async () => {
    for (const query of [
      '{ me { id } }',
      '{ organisations { nodes { id } } }',
      `{ project(id: "${acme.project}") { id } }`,
      'mutation { createOrganisation(input: { name: "x" }) { id } }',
      `mutation { deleteEnvironment(id: "${acme.env}") }`,
    ]) {
      const res = await t.gql(query);
      expect(res.data, query).toBeNull();
      expect(code(res), query).toBe('UNAUTHENTICATED');
    }
    const bogus = await t.gql('{ me { id } }', {}, { token: 'not-a-real-token' });
    expect(code(bogus)).toBe('UNAUTHENTICATED');
  });
});
