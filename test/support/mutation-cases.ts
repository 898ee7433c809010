/**
 * One case per mutation of the schema: a setup that makes fresh objects (through GraphQL, as an
 * ADMIN of the workspace's organisation) and valid variables, so the mutation succeeds when
 * its caller may run it. Shared by the audit guarantee (test/audit/every-mutation) and the
 * permission matrix (test/permissions/operation-matrix).
 */
import { AuditObjectType } from '../../src/audit/audit-log.entity';
import { ModelPermissionGrant } from '../../src/permissions/permission-grant.entity';
import { User } from '../../src/users/user.entity';
import { DeliveryStatus, WebhookDelivery } from '../../src/webhooks/delivery.entity';
import { ok, type Workspace } from './fixtures';
import { PASSWORD, type TestApp } from './test-app';
import { TestAuthenticator } from './totp';

/** A mutation's variables, made by its setup on fresh objects. */
export interface Prepared {
  readonly vars?: Record<string, unknown>;
  /** What the change touches: it must read the same after a failed attempt as before it. */
  readonly rows?: () => Promise<unknown>;
}

export interface MutationCase {
  /** The `relatedObjectType` of the newest audit record the mutation writes. */
  readonly type: AuditObjectType;
  readonly query: string;
  /**
   * Creates what the mutation needs (as the admin, with commits working). `self` is whose own
   * account a self-service mutation (password, two-factor sign-in) acts on: the admin's when omitted.
   */
  readonly setup?: (self?: number) => Promise<Prepared>;
  /** The expected author when it is not the caller (the admin). */
  readonly author?: () => number;
}

/** What the setups work in; read when a setup runs (after the test's own setup). */
export interface CaseContext {
  readonly t: TestApp;
  readonly ws: Workspace;
  /** Token of an ADMIN of `ws`'s organisation: the setups make objects as them. */
  readonly admin: string;
  readonly adminId: number;
}

export const HOOK_URL = 'http://127.0.0.1:9/hook';

/** Numbers unique names across every set of cases of a test file (two may share a server). */
let serial = 0;

/** The cases, by mutation name. `c` gives the context when a setup runs. */
export function mutationCases(c: () => CaseContext): Record<string, MutationCase> {
  let resetUserId = 0;
  const em = () => c().t.app.db.orm.em.fork();
  const unique = (prefix: string) => `${prefix}_${++serial}`;
  const dev = () => c().ws.environments.Development!;

  async function sql(query: string, params: unknown[] = []): Promise<unknown[]> {
    return (await em().getConnection().execute(query, params)) as unknown[];
  }
  const row = (table: string, id: string) => () =>
    sql(`select * from "${table}" where id = ?`, [Number(id)]);

  /** Runs a mutation as the admin and returns `data[field]`, failing on errors. */
  async function call<T = string>(query: string, vars: Record<string, unknown> = {}): Promise<T> {
    const data = ok(await c().t.gql<Record<string, unknown>>(query, vars, { token: c().admin }));
    const values = Object.values(data);
    return values[0] as T;
  }
  const idOf = (value: unknown) => (value as { id: string }).id;

  // --- Fresh objects, made through GraphQL -----------------------------------------------

  const newFeature = async () =>
    idOf(
      await call('mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }', {
        i: { projectId: c().ws.projectId, name: unique('flag'), initialValue: 'blue' },
      }),
    );

  // Through Feature.states (one environment default each), which list paging leaves alone.
  const defaultState = async (featureId: string, environmentId = dev()) => {
    const feature = await call<{ states: { id: string; kind: string }[] }>(
      'query($f: ID!, $e: ID!) { feature(id: $f) { states(environmentIds: [$e]) { id kind } } }',
      { f: featureId, e: environmentId },
    );
    return feature.states.find((s) => s.kind === 'ENVIRONMENT_DEFAULT')!.id;
  };

  const newOption = async (featureId: string) =>
    idOf(
      await call(
        'mutation($f: ID!, $i: MultivariateOptionInput!) { createMultivariateOption(featureId: $f, input: $i) { id } }',
        { f: featureId, i: { value: 'red', defaultPercentageAllocation: 20 } },
      ),
    );

  const RULES = [
    { type: 'ALL', conditions: [{ operator: 'EQUAL', property: 'plan', value: 'gold' }] },
  ];

  const newSegment = async () =>
    idOf(
      await call('mutation($i: CreateSegmentInput!) { createSegment(input: $i) { id } }', {
        i: { projectId: c().ws.projectId, name: unique('segment'), rules: RULES },
      }),
    );

  const newOverride = async (featureId: string, segmentId: string) =>
    idOf(
      await call(
        'mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { id } }',
        {
          i: {
            environmentId: dev(),
            featureId,
            segmentId,
            enabled: true,
            value: 'segment value',
          },
        },
      ),
    );

  const newIdentity = async () =>
    idOf(
      await call('mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }', {
        i: {
          environmentId: dev(),
          identifier: unique('user'),
          traits: [{ key: 'plan', value: 'gold' }],
        },
      }),
    );

  const newProject = async () =>
    idOf(
      await call('mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }', {
        i: { organisationId: c().ws.organisationId, name: unique('project') },
      }),
    );

  const newEnvironment = async () =>
    idOf(
      await call('mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }', {
        i: { projectId: c().ws.projectId, name: unique('environment') },
      }),
    );

  const newOrganisation = async () =>
    idOf(
      await call(
        'mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id } }',
        {
          i: { name: unique('organisation') },
        },
      ),
    );

  const newTag = async () =>
    idOf(
      await call('mutation($i: CreateTagInput!) { createTag(input: $i) { id } }', {
        i: { projectId: c().ws.projectId, label: unique('tag') },
      }),
    );

  const newServerKey = async () =>
    (
      await call<{ serverSideKey: { id: string } }>(
        'mutation($i: CreateServerSideKeyInput!) { createServerSideKey(input: $i) { serverSideKey { id } } }',
        { i: { environmentId: dev(), name: unique('key') } },
      )
    ).serverSideKey.id;

  const newWebhook = async () =>
    idOf(
      await call(
        'mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) { id } }',
        { i: { environmentId: dev(), url: HOOK_URL, name: unique('hook') } },
      ),
    );

  /** A webhook with a dead letter: a test event that (as if refused) was given up on. */
  async function deadLetter(): Promise<{ webhookId: string; deliveryId: string }> {
    const webhookId = await newWebhook();
    const deliveryId = idOf(
      await call('mutation($w: ID!) { sendTestWebhookEvent(webhookId: $w) { id } }', {
        w: webhookId,
      }),
    );
    // No worker runs (WEBHOOK_WORKER=false): dead-lettering is arranged directly.
    await em().nativeUpdate(WebhookDelivery, { id: deliveryId }, { status: DeliveryStatus.DEAD });
    return { webhookId, deliveryId };
  }

  /** Gives the admin these model permissions (once, also when setups run side by side). */
  const holding = new Map<string, Promise<void>>();
  async function holdModelPermissions(...codenames: string[]): Promise<void> {
    for (const codename of codenames) {
      let held = holding.get(codename);
      if (!held) {
        held = (async () => {
          const fork = em();
          if (!(await fork.count(ModelPermissionGrant, { user: c().adminId, codename })))
            fork.create(ModelPermissionGrant, { user: c().adminId, codename });
          await fork.flush();
        })();
        holding.set(codename, held);
      }
      await held;
    }
  }

  /** Starts two-factor setup afresh for a user; returns their authenticator app. */
  async function pendingTwoFactor(userId: number): Promise<TestAuthenticator> {
    const fork = em();
    const user = await fork.findOneOrFail(User, userId);
    await c().t.app.services.twoFactor.disable(fork, user);
    return new TestAuthenticator(
      (await c().t.app.services.twoFactor.begin(fork, user)).manualEntryKey,
    );
  }

  /** Turns two-factor sign-in on for a user; returns their backup codes. */
  async function withTwoFactor(userId: number): Promise<string[]> {
    const app = await pendingTwoFactor(userId);
    const fork = em();
    const user = await fork.findOneOrFail(User, userId);
    return c().t.app.services.twoFactor.confirm(fork, user, await app.next());
  }

  const twoFactorRow = (userId: number) => () =>
    sql('select totp_sealed, totp_enabled_at, totp_last_step from users where id = ?', [userId]);

  /** A user who is not (yet) a member of the workspace's organisation. */
  async function newUser(): Promise<{ id: number; email: string }> {
    const email = `${unique('member')}@acme.test`;
    const { user } = await c().t.createUser(email);
    return { id: user.id, email };
  }

  async function newMember(): Promise<{ id: number; email: string }> {
    const user = await newUser();
    await call('mutation($i: AddMemberInput!) { addOrganisationMember(input: $i) { role } }', {
      i: { organisationId: c().ws.organisationId, email: user.email, role: 'USER' },
    });
    return user;
  }

  const newApiKey = async () =>
    (
      await call<{ apiKey: { id: string } }>(
        'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { apiKey { id } } }',
        { i: { organisationId: c().ws.organisationId, name: unique('api key') } },
      )
    ).apiKey.id;

  const membership = (userId: number) => () =>
    sql('select * from organisation_memberships where organisation_id = ? and user_id = ?', [
      Number(c().ws.organisationId),
      userId,
    ]);

  /** A small Flagsmith environment document with a key of its own. */
  const importDocument = () => ({
    api_key: unique('importedKey'),
    name: unique('Imported'),
    project: { name: 'Imported project', segments: [] },
    feature_states: [
      {
        feature: { id: 1, name: 'imported_flag' },
        enabled: true,
        feature_state_value: 'imported',
        multivariate_feature_state_values: [],
      },
    ],
  });

  // --- Groups, roles and grants: fresh objects for their cases ------------------------------

  const newGroup = async () =>
    idOf(
      await call('mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }', {
        i: { organisationId: c().ws.organisationId, name: unique('group') },
      }),
    );

  const newRole = async () =>
    idOf(
      await call('mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }', {
        i: { organisationId: c().ws.organisationId, name: unique('role') },
      }),
    );

  /** Grants VIEW_PROJECT on the workspace's project to a holder ({ userId } | { roleId } …). */
  const grantTo = (holder: Record<string, string>) =>
    call('mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }', {
      i: { holder, projectId: c().ws.projectId, keys: ['VIEW_PROJECT'] },
    });

  const groupMembers = (groupId: string) => () =>
    sql('select * from user_group_memberships where group_id = ? order by id', [Number(groupId)]);
  const roleAssignments = (roleId: string) => () =>
    sql('select * from role_assignments where role_id = ? order by id', [Number(roleId)]);
  const grantsOf = (userId: number) => () =>
    sql('select * from permission_grants where user_id = ? order by id', [userId]);

  // --- One case per mutation -----------------------------------------------------------------

  return {
    // Organisations and members
    createOrganisation: {
      type: AuditObjectType.ORGANISATION,
      query: 'mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { id } }',
      setup: async () => ({ vars: { i: { name: unique('organisation') } } }),
    },
    updateOrganisation: {
      type: AuditObjectType.ORGANISATION,
      query:
        'mutation($id: ID!, $i: UpdateOrganisationInput!) { updateOrganisation(id: $id, input: $i) { id } }',
      setup: async () => ({
        vars: { id: c().ws.organisationId, i: { name: unique('Acme') } },
        rows: row('organisations', c().ws.organisationId),
      }),
    },
    deleteOrganisation: {
      type: AuditObjectType.ORGANISATION,
      query: 'mutation($id: ID!) { deleteOrganisation(id: $id) }',
      setup: async () => {
        const id = await newOrganisation();
        return { vars: { id }, rows: row('organisations', id) };
      },
    },
    addOrganisationMember: {
      type: AuditObjectType.USER,
      query: 'mutation($i: AddMemberInput!) { addOrganisationMember(input: $i) { role } }',
      setup: async () => {
        const user = await newUser();
        return {
          vars: { i: { organisationId: c().ws.organisationId, email: user.email, role: 'USER' } },
          rows: membership(user.id),
        };
      },
    },
    updateOrganisationMember: {
      type: AuditObjectType.USER,
      query: 'mutation($i: UpdateMemberInput!) { updateOrganisationMember(input: $i) { role } }',
      setup: async () => {
        const user = await newMember();
        return {
          vars: {
            i: { organisationId: c().ws.organisationId, userId: String(user.id), role: 'ADMIN' },
          },
          rows: membership(user.id),
        };
      },
    },
    removeOrganisationMember: {
      type: AuditObjectType.USER,
      query:
        'mutation($o: ID!, $u: ID!) { removeOrganisationMember(organisationId: $o, userId: $u) }',
      setup: async () => {
        const user = await newMember();
        return {
          vars: { o: c().ws.organisationId, u: String(user.id) },
          rows: membership(user.id),
        };
      },
    },

    createOrganisationApiKey: {
      type: AuditObjectType.API_KEY,
      query:
        'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { apiKey { id } } }',
      setup: async () => ({
        vars: { i: { organisationId: c().ws.organisationId, name: unique('api key') } },
      }),
    },
    revokeOrganisationApiKey: {
      type: AuditObjectType.API_KEY,
      query: 'mutation($id: ID!) { revokeOrganisationApiKey(id: $id) { id } }',
      setup: async () => {
        const id = await newApiKey();
        return { vars: { id }, rows: row('organisation_api_keys', id) };
      },
    },

    // Projects, environments, keys
    createProject: {
      type: AuditObjectType.PROJECT,
      query: 'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
      setup: async () => ({
        vars: { i: { organisationId: c().ws.organisationId, name: unique('project') } },
      }),
    },
    updateProject: {
      type: AuditObjectType.PROJECT,
      query:
        'mutation($id: ID!, $i: UpdateProjectInput!) { updateProject(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newProject();
        return { vars: { id, i: { name: unique('renamed') } }, rows: row('projects', id) };
      },
    },
    deleteProject: {
      type: AuditObjectType.PROJECT,
      query: 'mutation($id: ID!) { deleteProject(id: $id) }',
      setup: async () => {
        const id = await newProject();
        return { vars: { id }, rows: row('projects', id) };
      },
    },
    createEnvironment: {
      type: AuditObjectType.ENVIRONMENT,
      query: 'mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { id } }',
      setup: async () => {
        const name = unique('environment');
        return {
          vars: { i: { projectId: c().ws.projectId, name } },
          rows: () => sql('select * from environments where name = ?', [name]),
        };
      },
    },
    updateEnvironment: {
      type: AuditObjectType.ENVIRONMENT,
      query:
        'mutation($id: ID!, $i: UpdateEnvironmentInput!) { updateEnvironment(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newEnvironment();
        return {
          vars: { id, i: { description: 'changed', bannerText: 'changed' } },
          rows: row('environments', id),
        };
      },
    },
    deleteEnvironment: {
      type: AuditObjectType.ENVIRONMENT,
      query: 'mutation($id: ID!) { deleteEnvironment(id: $id) }',
      setup: async () => {
        const id = await newEnvironment();
        return { vars: { id }, rows: row('environments', id) };
      },
    },
    importEnvironment: {
      type: AuditObjectType.ENVIRONMENT,
      query:
        'mutation($i: ImportEnvironmentInput!) { importEnvironment(input: $i) { changed environment { id } } }',
      setup: async () => {
        const document = importDocument();
        return {
          vars: { i: { organisationId: c().ws.organisationId, document } },
          rows: () => sql('select * from environments where api_key = ?', [document.api_key]),
        };
      },
    },
    createServerSideKey: {
      type: AuditObjectType.API_KEY,
      query:
        'mutation($i: CreateServerSideKeyInput!) { createServerSideKey(input: $i) { serverSideKey { id } } }',
      setup: async () => ({ vars: { i: { environmentId: dev(), name: unique('key') } } }),
    },
    updateServerSideKey: {
      type: AuditObjectType.API_KEY,
      query:
        'mutation($id: ID!, $i: UpdateServerSideKeyInput!) { updateServerSideKey(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newServerKey();
        return {
          vars: { id, i: { name: unique('renamed'), active: false } },
          rows: row('environment_server_keys', id),
        };
      },
    },
    deleteServerSideKey: {
      type: AuditObjectType.API_KEY,
      query: 'mutation($id: ID!) { deleteServerSideKey(id: $id) }',
      setup: async () => {
        const id = await newServerKey();
        return { vars: { id }, rows: row('environment_server_keys', id) };
      },
    },

    // Features, options, tags, states
    createFeature: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
      setup: async () => {
        const name = unique('flag');
        return {
          vars: {
            i: { projectId: c().ws.projectId, name, initialValue: 'blue', defaultEnabled: true },
          },
          rows: () => sql('select * from features where name = ?', [name]),
        };
      },
    },
    updateFeature: {
      type: AuditObjectType.FEATURE,
      query:
        'mutation($id: ID!, $i: UpdateFeatureInput!) { updateFeature(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newFeature();
        return {
          vars: { id, i: { description: 'changed', isArchived: true } },
          rows: row('features', id),
        };
      },
    },
    deleteFeature: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($id: ID!) { deleteFeature(id: $id) }',
      setup: async () => {
        const id = await newFeature();
        return { vars: { id }, rows: row('features', id) };
      },
    },
    createMultivariateOption: {
      type: AuditObjectType.FEATURE,
      query:
        'mutation($f: ID!, $i: MultivariateOptionInput!) { createMultivariateOption(featureId: $f, input: $i) { id } }',
      setup: async () => {
        const f = await newFeature();
        return {
          vars: { f, i: { value: 'green', defaultPercentageAllocation: 30 } },
          rows: () => sql('select * from multivariate_options where feature_id = ?', [Number(f)]),
        };
      },
    },
    updateMultivariateOption: {
      type: AuditObjectType.FEATURE,
      query:
        'mutation($id: ID!, $i: UpdateMultivariateOptionInput!) { updateMultivariateOption(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newOption(await newFeature());
        return {
          vars: { id, i: { value: 'purple', defaultPercentageAllocation: 40 } },
          rows: row('multivariate_options', id),
        };
      },
    },
    deleteMultivariateOption: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($id: ID!) { deleteMultivariateOption(id: $id) }',
      setup: async () => {
        const id = await newOption(await newFeature());
        return { vars: { id }, rows: row('multivariate_options', id) };
      },
    },
    resetPassword: {
      type: AuditObjectType.USER,
      query: 'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }',
      // The account's owner, who proved it by holding the mailed link.
      author: () => resetUserId,
      setup: async () => {
        const { user } = await c().t.createUser(`${unique('reset')}@example.com`);
        resetUserId = user.id;
        const url = await c().t.app.services.passwordReset.issue(c().t.app.db.orm.em.fork(), user);
        return {
          vars: { t: new URL(url).searchParams.get('token'), p: unique('a reset password') },
          rows: async () =>
            (
              await c()
                .t.app.db.orm.em.fork()
                .findOneOrFail(User, user.id, { populate: ['passwordHash'] })
            ).passwordHash,
        };
      },
    },
    confirmTwoFactor: {
      type: AuditObjectType.USER,
      query: 'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
      setup: async (self = c().adminId) => {
        const app = await pendingTwoFactor(self);
        return { vars: { c: await app.next() }, rows: twoFactorRow(self) };
      },
    },
    regenerateBackupCodes: {
      type: AuditObjectType.USER,
      query: 'mutation($c: String!) { regenerateBackupCodes(code: $c) { backupCodes } }',
      setup: async (self = c().adminId) => {
        const [code] = await withTwoFactor(self);
        return {
          vars: { c: code },
          rows: () => sql('select code_hash from user_backup_codes where user_id = ?', [self]),
        };
      },
    },
    disableTwoFactor: {
      type: AuditObjectType.USER,
      query: 'mutation($c: String!) { disableTwoFactor(code: $c) }',
      setup: async (self = c().adminId) => {
        const [code] = await withTwoFactor(self);
        return { vars: { c: code }, rows: twoFactorRow(self) };
      },
    },
    resetUserTwoFactor: {
      type: AuditObjectType.USER,
      query: 'mutation($u: ID!) { resetUserTwoFactor(userId: $u) }',
      setup: async () => {
        const user = await newUser();
        await withTwoFactor(user.id);
        await holdModelPermissions('change_user');
        return { vars: { u: String(user.id) }, rows: twoFactorRow(user.id) };
      },
    },
    grantModelPermission: {
      type: AuditObjectType.USER,
      query: 'mutation($i: ModelPermissionInput!) { grantModelPermission(input: $i) }',
      setup: async () => {
        await holdModelPermissions('change_user', 'view_user');
        const user = await newUser();
        return {
          vars: { i: { userId: String(user.id), codename: 'view_user' } },
          rows: () =>
            sql('select codename from model_permission_grants where user_id = ?', [user.id]),
        };
      },
    },
    revokeModelPermission: {
      type: AuditObjectType.USER,
      query: 'mutation($i: ModelPermissionInput!) { revokeModelPermission(input: $i) }',
      setup: async () => {
        await holdModelPermissions('change_user', 'view_user');
        const user = await newUser();
        const grants = em();
        grants.create(ModelPermissionGrant, { user: user.id, codename: 'view_user' });
        await grants.flush();
        return {
          vars: { i: { userId: String(user.id), codename: 'view_user' } },
          rows: () =>
            sql('select codename from model_permission_grants where user_id = ?', [user.id]),
        };
      },
    },
    updateUser: {
      type: AuditObjectType.USER,
      query: 'mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }',
      setup: async () => {
        await holdModelPermissions('change_user');
        const user = await newUser();
        return {
          vars: { id: String(user.id), i: { firstName: unique('Ada'), isActive: false } },
          rows: () => sql('select first_name, is_active from users where id = ?', [user.id]),
        };
      },
    },
    changePassword: {
      type: AuditObjectType.USER,
      query: 'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }',
      setup: async (self = c().adminId) => {
        const em = c().t.app.db.orm.em.fork();
        const me = await em.findOneOrFail(User, self);
        await c().t.app.services.users.setPassword(em, me, PASSWORD);
        return {
          vars: { i: { currentPassword: PASSWORD, newPassword: unique('a new password') } },
          rows: async () =>
            (
              await c()
                .t.app.db.orm.em.fork()
                .findOneOrFail(User, self, { populate: ['passwordHash'] })
            ).passwordHash,
        };
      },
    },
    createTag: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($i: CreateTagInput!) { createTag(input: $i) { id } }',
      setup: async () => ({ vars: { i: { projectId: c().ws.projectId, label: unique('tag') } } }),
    },
    updateTag: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($id: ID!, $i: UpdateTagInput!) { updateTag(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newTag();
        return {
          vars: { id, i: { label: unique('relabelled'), color: '#112233' } },
          rows: row('tags', id),
        };
      },
    },
    deleteTag: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($id: ID!) { deleteTag(id: $id) }',
      setup: async () => {
        const id = await newTag();
        return { vars: { id }, rows: row('tags', id) };
      },
    },
    updateFeatureState: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($id: ID!, $i: FeatureStateInput!) { updateFeatureState(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await defaultState(await newFeature());
        return {
          vars: { id, i: { enabled: true, value: 'changed' } },
          rows: row('feature_states', id),
        };
      },
    },

    archiveFeatures: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($ids: [ID!]!) { archiveFeatures(ids: $ids) { id } }',
      setup: async () => {
        const ids = [await newFeature(), await newFeature()];
        return {
          vars: { ids },
          rows: () =>
            sql('select id, is_archived from features where id in (?, ?)', ids.map(Number)),
        };
      },
    },
    deleteFeatures: {
      type: AuditObjectType.FEATURE,
      query: 'mutation($ids: [ID!]!) { deleteFeatures(ids: $ids) }',
      setup: async () => {
        const ids = [await newFeature(), await newFeature()];
        return {
          vars: { ids },
          rows: () => sql('select id from features where id in (?, ?)', ids.map(Number)),
        };
      },
    },
    updateFeatureStates: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($items: [FeatureStateChangeInput!]!) { updateFeatureStates(items: $items) { id } }',
      setup: async () => {
        const featureId = await newFeature();
        const items = Object.values(c().ws.environments).map((environmentId) => ({
          featureId,
          environmentId,
          enabled: true,
          value: unique('bulk'),
        }));
        return {
          vars: { items },
          rows: () =>
            sql('select id, enabled from feature_states where feature_id = ? order by id', [
              Number(featureId),
            ]),
        };
      },
    },
    deleteIdentities: {
      type: AuditObjectType.IDENTITY,
      query: 'mutation($ids: [ID!]!) { deleteIdentities(ids: $ids) }',
      setup: async () => {
        const ids = [await newIdentity(), await newIdentity()];
        return {
          vars: { ids },
          rows: () => sql('select id from identities where id in (?, ?)', ids.map(Number)),
        };
      },
    },

    // Segments and their overrides
    createSegment: {
      type: AuditObjectType.SEGMENT,
      query: 'mutation($i: CreateSegmentInput!) { createSegment(input: $i) { id } }',
      setup: async () => {
        const name = unique('segment');
        return {
          vars: { i: { projectId: c().ws.projectId, name, rules: RULES } },
          rows: () => sql('select * from segments where name = ?', [name]),
        };
      },
    },
    updateSegment: {
      type: AuditObjectType.SEGMENT,
      query:
        'mutation($id: ID!, $i: UpdateSegmentInput!) { updateSegment(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newSegment();
        return {
          vars: {
            id,
            i: {
              name: unique('renamed'),
              rules: [{ type: 'ANY', conditions: [{ operator: 'IS_SET', property: 'beta' }] }],
            },
          },
          rows: async () => [
            await row('segments', id)(),
            await sql('select * from segment_rules where segment_id = ?', [Number(id)]),
          ],
        };
      },
    },
    deleteSegment: {
      type: AuditObjectType.SEGMENT,
      query: 'mutation($id: ID!) { deleteSegment(id: $id) }',
      setup: async () => {
        const id = await newSegment();
        return { vars: { id }, rows: row('segments', id) };
      },
    },
    createSegmentOverride: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { id } }',
      setup: async () => {
        const featureId = await newFeature();
        const segmentId = await newSegment();
        return {
          vars: {
            i: { environmentId: dev(), featureId, segmentId, enabled: true, value: 'for them' },
          },
          rows: () =>
            sql('select * from feature_segments where feature_id = ?', [Number(featureId)]),
        };
      },
    },
    updateSegmentOverride: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($id: ID!, $i: UpdateSegmentOverrideInput!) { updateSegmentOverride(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newOverride(await newFeature(), await newSegment());
        return {
          vars: { id, i: { enabled: false, value: 'changed' } },
          rows: () =>
            sql('select * from feature_states where feature_segment_id = ?', [Number(id)]),
        };
      },
    },
    deleteSegmentOverride: {
      type: AuditObjectType.FEATURE_STATE,
      query: 'mutation($id: ID!) { deleteSegmentOverride(id: $id) }',
      setup: async () => {
        const id = await newOverride(await newFeature(), await newSegment());
        return { vars: { id }, rows: row('feature_segments', id) };
      },
    },
    reorderSegmentOverrides: {
      type: AuditObjectType.FEATURE,
      query:
        'mutation($e: ID!, $f: ID!, $ids: [ID!]!) { reorderSegmentOverrides(environmentId: $e, featureId: $f, ids: $ids) { id } }',
      setup: async () => {
        const f = await newFeature();
        const first = await newOverride(f, await newSegment());
        const second = await newOverride(f, await newSegment());
        return {
          vars: { e: dev(), f, ids: [second, first] },
          rows: () =>
            sql('select id, priority from feature_segments where feature_id = ? order by id', [
              Number(f),
            ]),
        };
      },
    },

    // Identities
    createIdentity: {
      type: AuditObjectType.IDENTITY,
      query: 'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
      setup: async () => {
        const identifier = unique('user');
        return {
          vars: {
            i: { environmentId: dev(), identifier, traits: [{ key: 'plan', value: 'gold' }] },
          },
          rows: () => sql('select * from identities where identifier = ?', [identifier]),
        };
      },
    },
    updateIdentityTraits: {
      type: AuditObjectType.IDENTITY,
      query:
        'mutation($id: ID!, $t: [TraitInput!]!) { updateIdentityTraits(id: $id, traits: $t) { id } }',
      setup: async () => {
        const id = await newIdentity();
        return {
          vars: {
            id,
            t: [
              { key: 'plan', value: 'silver' },
              { key: 'age', value: 42 },
            ],
          },
          rows: () => sql('select * from traits where identity_id = ? order by id', [Number(id)]),
        };
      },
    },
    deleteIdentity: {
      type: AuditObjectType.IDENTITY,
      query: 'mutation($id: ID!) { deleteIdentity(id: $id) }',
      setup: async () => {
        const id = await newIdentity();
        return { vars: { id }, rows: row('identities', id) };
      },
    },
    setIdentityOverride: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($id: ID!, $f: ID!, $i: FeatureStateInput!) { setIdentityOverride(identityId: $id, featureId: $f, input: $i) { id } }',
      setup: async () => {
        const id = await newIdentity();
        const f = await newFeature();
        return {
          vars: { id, f, i: { enabled: true, value: 'just for you' } },
          rows: () => sql('select * from feature_states where identity_id = ?', [Number(id)]),
        };
      },
    },
    deleteIdentityOverride: {
      type: AuditObjectType.FEATURE_STATE,
      query:
        'mutation($id: ID!, $f: ID!) { deleteIdentityOverride(identityId: $id, featureId: $f) }',
      setup: async () => {
        const id = await newIdentity();
        const f = await newFeature();
        await call(
          'mutation($id: ID!, $f: ID!) { setIdentityOverride(identityId: $id, featureId: $f, input: { enabled: true }) { id } }',
          { id, f },
        );
        return {
          vars: { id, f },
          rows: () => sql('select * from feature_states where identity_id = ?', [Number(id)]),
        };
      },
    },

    // Webhooks
    createEnvironmentWebhook: {
      type: AuditObjectType.WEBHOOK,
      query:
        'mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) { id } }',
      setup: async () => ({
        vars: { i: { environmentId: dev(), url: HOOK_URL, name: unique('hook') } },
      }),
    },
    createOrganisationWebhook: {
      type: AuditObjectType.WEBHOOK,
      query:
        'mutation($i: CreateOrganisationWebhookInput!) { createOrganisationWebhook(input: $i) { id } }',
      setup: async () => ({
        vars: { i: { organisationId: c().ws.organisationId, url: HOOK_URL, name: unique('hook') } },
      }),
    },
    updateWebhook: {
      type: AuditObjectType.WEBHOOK,
      query:
        'mutation($id: ID!, $i: UpdateWebhookInput!) { updateWebhook(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newWebhook();
        return {
          vars: { id, i: { name: unique('renamed'), enabled: false, secret: 'a-new-secret' } },
          rows: row('webhooks', id),
        };
      },
    },
    deleteWebhook: {
      type: AuditObjectType.WEBHOOK,
      query: 'mutation($id: ID!) { deleteWebhook(id: $id) }',
      setup: async () => {
        const id = await newWebhook();
        return { vars: { id }, rows: row('webhooks', id) };
      },
    },
    sendTestWebhookEvent: {
      type: AuditObjectType.WEBHOOK,
      query: 'mutation($w: ID!) { sendTestWebhookEvent(webhookId: $w) { id } }',
      setup: async () => {
        const w = await newWebhook();
        return {
          vars: { w },
          rows: () => sql('select * from webhook_deliveries where webhook_id = ?', [Number(w)]),
        };
      },
    },
    replayWebhookDelivery: {
      type: AuditObjectType.WEBHOOK,
      query: 'mutation($id: ID!) { replayWebhookDelivery(id: $id) { id status } }',
      setup: async () => {
        const { deliveryId } = await deadLetter();
        return { vars: { id: deliveryId }, rows: row('webhook_deliveries', deliveryId) };
      },
    },
    replayDeadWebhookDeliveries: {
      type: AuditObjectType.WEBHOOK,
      query: 'mutation($w: ID!) { replayDeadWebhookDeliveries(webhookId: $w) }',
      setup: async () => {
        const { webhookId } = await deadLetter();
        return {
          vars: { w: webhookId },
          rows: () =>
            sql('select * from webhook_deliveries where webhook_id = ?', [Number(webhookId)]),
        };
      },
    },

    // Groups, roles and object grants (their helpers are above CASES)
    createGroup: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }',
      setup: async () => {
        const name = unique('group');
        return {
          vars: { i: { organisationId: c().ws.organisationId, name, isDefault: true } },
          rows: () => sql('select * from user_groups where name = ?', [name]),
        };
      },
    },
    updateGroup: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($id: ID!, $i: UpdateGroupInput!) { updateGroup(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newGroup();
        return {
          vars: { id, i: { name: unique('renamed'), externalId: 'sso-group' } },
          rows: row('user_groups', id),
        };
      },
    },
    deleteGroup: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($id: ID!) { deleteGroup(id: $id) }',
      setup: async () => {
        const id = await newGroup();
        const member = await newMember();
        await call(
          'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }',
          {
            g: id,
            u: [String(member.id)],
          },
        );
        return { vars: { id }, rows: row('user_groups', id) };
      },
    },
    addGroupMembers: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u, groupAdmin: true) { id } }',
      setup: async () => {
        const g = await newGroup();
        const member = await newMember();
        return { vars: { g, u: [String(member.id)] }, rows: groupMembers(g) };
      },
    },
    removeGroupMembers: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { id } }',
      setup: async () => {
        const g = await newGroup();
        const member = await newMember();
        await call(
          'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }',
          {
            g,
            u: [String(member.id)],
          },
        );
        return { vars: { g, u: [String(member.id)] }, rows: groupMembers(g) };
      },
    },
    createRole: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }',
      setup: async () => {
        const name = unique('role');
        return {
          vars: { i: { organisationId: c().ws.organisationId, name, description: 'viewers' } },
          rows: () => sql('select * from roles where name = ?', [name]),
        };
      },
    },
    updateRole: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($id: ID!, $i: UpdateRoleInput!) { updateRole(id: $id, input: $i) { id } }',
      setup: async () => {
        const id = await newRole();
        return {
          vars: { id, i: { name: unique('renamed'), description: 'changed' } },
          rows: row('roles', id),
        };
      },
    },
    deleteRole: {
      type: AuditObjectType.PERMISSION,
      query: 'mutation($id: ID!) { deleteRole(id: $id) }',
      setup: async () => {
        const id = await newRole();
        await grantTo({ roleId: id });
        return { vars: { id }, rows: row('roles', id) };
      },
    },
    assignRole: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { id } }',
      setup: async () => {
        const r = await newRole();
        const member = await newMember();
        return { vars: { r, h: { userId: String(member.id) } }, rows: roleAssignments(r) };
      },
    },
    unassignRole: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($r: ID!, $h: RoleHolderInput!) { unassignRole(roleId: $r, holder: $h) { id } }',
      setup: async () => {
        const r = await newRole();
        const g = await newGroup();
        await call(
          'mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { id } }',
          { r, h: { groupId: g } },
        );
        return { vars: { r, h: { groupId: g } }, rows: roleAssignments(r) };
      },
    },
    grantPermissions: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id keys admin } }',
      setup: async () => {
        const member = await newMember();
        return {
          vars: {
            i: {
              holder: { userId: String(member.id) },
              environmentId: dev(),
              keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'],
            },
          },
          rows: grantsOf(member.id),
        };
      },
    },
    revokePermissions: {
      type: AuditObjectType.PERMISSION,
      query:
        'mutation($h: GrantHolderInput!, $s: GrantScopeInput!) { revokePermissions(holder: $h, scope: $s) }',
      setup: async () => {
        const member = await newMember();
        await grantTo({ userId: String(member.id) });
        return {
          vars: { h: { userId: String(member.id) }, s: { projectId: c().ws.projectId } },
          rows: grantsOf(member.id),
        };
      },
    },
  };
}
