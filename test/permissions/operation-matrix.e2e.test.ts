/**
 * The permission matrix, generated from the schema: every query, every mutation and every
 * guarded object field, each run by ten callers, compared with the outcome Flagsmith's rules
 * give (shared/spec/admin-domain.md §2 and the descriptions in schema.graphql).
 *
 * The expectations are written here, independently of the resolvers: NEEDS says, per
 * operation, what it takes in Flagsmith's terms, and `expected()` turns that into each
 * caller's outcome by fixed rules. An operation or guarded field of the schema without an
 * entry fails the test, naming it. Every case runs (on fresh objects, for mutations) and
 * every wrong allow or deny is reported together at the end.
 */
import {
  getNamedType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  isLeafType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFlagwardSchema } from '../../src/graphql/schema';
import { REQUIRES_EXTENSION } from '../../src/permissions/requirement';
import { sha256Hex } from '../../src/shared/ids';
import { publicSessionId } from '../../src/users/session.service';
import { User } from '../../src/users/user.entity';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import { HOOK_URL, mutationCases, type Prepared } from '../support/mutation-cases';
import {
  createTestApp,
  type GqlResult,
  OrganisationRole,
  PASSWORD,
  type TestApp,
} from '../support/test-app';
import { TestAuthenticator } from '../support/totp';

// --- What an operation needs, in Flagsmith's terms -----------------------------------------

type ScopeName = 'organisation' | 'project' | 'environment';

/** Keys (or the admin flag) on one scope; `on` reads the record it is on from the variables. */
interface Grant {
  readonly scope: ScopeName;
  readonly keys: readonly string[];
  readonly admin?: boolean;
  /** The project or environment (fresh, made by the case) the grant must be on. */
  readonly on?: (vars: Record<string, unknown>) => string;
}

type Need =
  /** Anyone, signed in or not. */
  | { readonly kind: 'public' }
  /** Any signed-in caller; lists show only what the caller may see. */
  | { readonly kind: 'signedIn' }
  /** A signed-in person acting on their own account (not an API key). */
  | { readonly kind: 'ownAccount' }
  /** A Django model permission (superusers hold them all; staff alone holds none). */
  | { readonly kind: 'model'; readonly codename: string }
  /** Membership of our organisation (its API keys included). */
  | { readonly kind: 'member' }
  /** Organisation ADMIN (its admin API keys too, unless only people may). */
  | { readonly kind: 'orgAdmin'; readonly usersOnly?: boolean }
  /** A Flagsmith key (or the admin flag) on a scope; organisation admins hold every one. */
  | { readonly kind: 'grant'; readonly grant: Grant };

interface Expectation {
  readonly need: Need;
  /**
   * What seeing the record the operation names takes. A caller who may not see it is told
   * it does not exist; one who sees it but lacks `need` is FORBIDDEN.
   */
  readonly sees?: Need;
  /** The organisation acted on when it is not ours (a fresh one, read from the variables). */
  readonly organisation?: (vars: Record<string, unknown>) => string;
}

const PUBLIC: Need = { kind: 'public' };
const SIGNED_IN: Need = { kind: 'signedIn' };
const OWN: Need = { kind: 'ownAccount' };
const MEMBER: Need = { kind: 'member' };
const ORG_ADMIN: Need = { kind: 'orgAdmin' };
const model = (codename: string): Need => ({ kind: 'model', codename });
const grant = (scope: ScopeName, keys: string[], extra: Partial<Grant> = {}): Need => ({
  kind: 'grant',
  grant: { scope, keys, ...extra },
});
const project = (...keys: string[]) => grant('project', keys);
const environment = (...keys: string[]) => grant('environment', keys);
const ENV_ADMIN = grant('environment', [], { admin: true });
const PROJECT_ADMIN = grant('project', [], { admin: true });
const idArg = (vars: Record<string, unknown>) => String(vars.id);

const VIEW_PROJECT = project('VIEW_PROJECT');
const VIEW_ENVIRONMENT = environment('VIEW_ENVIRONMENT');
const VIEW_IDENTITIES = environment('VIEW_IDENTITIES');

const inOrg = (need: Need): Expectation => ({ need, sees: MEMBER });
const inProject = (...keys: string[]): Expectation => ({
  need: project(...keys),
  sees: VIEW_PROJECT,
});
const inEnvironment = (need: Need, sees: Need = VIEW_ENVIRONMENT): Expectation => ({
  need,
  sees,
});

/** Queries: what each takes (spec §2 "Endpoint → permission"; schema descriptions). */
const QUERIES: Record<string, Expectation> = {
  signInMethods: { need: PUBLIC },
  me: { need: OWN },
  mySessions: { need: OWN },
  twoFactorStatus: { need: OWN },
  adminModels: { need: SIGNED_IN },
  organisations: { need: SIGNED_IN },
  projects: { need: SIGNED_IN },
  users: { need: model('view_user') },
  modelPermissionsOf: { need: model('view_user') },
  instanceAuditLogs: { need: model('view_auditlog') },
  instanceOrganisations: { need: model('view_organisation') },
  organisation: inOrg(MEMBER),
  // Admins read every record; other members those of projects where they hold VIEW_AUDIT_LOG.
  auditLogs: inOrg(MEMBER),
  groups: inOrg(MEMBER),
  group: inOrg(MEMBER),
  roles: inOrg(ORG_ADMIN),
  role: inOrg(ORG_ADMIN),
  organisationApiKeys: inOrg(ORG_ADMIN),
  organisationWebhooks: inOrg(ORG_ADMIN),
  project: inProject('VIEW_PROJECT'),
  environments: inProject('VIEW_PROJECT'),
  features: inProject('VIEW_PROJECT'),
  feature: inProject('VIEW_PROJECT'),
  segments: inProject('VIEW_PROJECT'),
  segment: inProject('VIEW_PROJECT'),
  tags: inProject('VIEW_PROJECT'),
  permissionGrants: { need: PROJECT_ADMIN, sees: VIEW_PROJECT },
  environment: inEnvironment(VIEW_ENVIRONMENT),
  featureStates: inEnvironment(VIEW_ENVIRONMENT),
  segmentOverrides: inEnvironment(VIEW_ENVIRONMENT),
  environmentUsage: inEnvironment(VIEW_ENVIRONMENT),
  featureEvaluations: inEnvironment(VIEW_ENVIRONMENT),
  identities: inEnvironment(VIEW_IDENTITIES),
  identity: inEnvironment(VIEW_IDENTITIES, VIEW_IDENTITIES),
  environmentWebhooks: inEnvironment(ENV_ADMIN),
  // Webhooks and their deliveries exist only for environment admins (spec §1, §5).
  webhook: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  webhookDeliveries: inEnvironment(ENV_ADMIN, ENV_ADMIN),
};

/** Mutations: what each takes. */
const MUTATIONS: Record<string, Expectation> = {
  // Signing in and one's own account
  login: { need: PUBLIC },
  completeTwoFactorLogin: { need: PUBLIC },
  requestPasswordReset: { need: PUBLIC },
  resetPassword: { need: PUBLIC },
  logout: { need: OWN },
  logoutEverywhere: { need: OWN },
  revokeSession: { need: OWN },
  changePassword: { need: OWN },
  beginTwoFactorSetup: { need: OWN },
  confirmTwoFactor: { need: OWN },
  regenerateBackupCodes: { need: OWN },
  disableTwoFactor: { need: OWN },
  // Instance-wide records (the admin site's model permissions)
  updateUser: { need: model('change_user') },
  resetUserTwoFactor: { need: model('change_user') },
  grantModelPermission: { need: model('change_user') },
  revokeModelPermission: { need: model('change_user') },
  // Organisations: any person may found one (API keys act within their own only)
  createOrganisation: { need: OWN },
  updateOrganisation: inOrg(ORG_ADMIN),
  deleteOrganisation: { need: ORG_ADMIN, sees: MEMBER, organisation: idArg },
  addOrganisationMember: inOrg(ORG_ADMIN),
  updateOrganisationMember: inOrg(ORG_ADMIN),
  removeOrganisationMember: inOrg(ORG_ADMIN),
  createOrganisationApiKey: inOrg({ kind: 'orgAdmin', usersOnly: true }),
  revokeOrganisationApiKey: { need: ORG_ADMIN, sees: ORG_ADMIN },
  importEnvironment: inOrg(ORG_ADMIN),
  createOrganisationWebhook: inOrg(ORG_ADMIN),
  createGroup: inOrg(ORG_ADMIN),
  updateGroup: inOrg(ORG_ADMIN),
  deleteGroup: inOrg(ORG_ADMIN),
  addGroupMembers: inOrg(grant('organisation', ['MANAGE_USER_GROUPS'])),
  removeGroupMembers: inOrg(grant('organisation', ['MANAGE_USER_GROUPS'])),
  createRole: inOrg(ORG_ADMIN),
  updateRole: inOrg(ORG_ADMIN),
  deleteRole: inOrg(ORG_ADMIN),
  assignRole: inOrg(ORG_ADMIN),
  unassignRole: inOrg(ORG_ADMIN),
  createProject: inOrg(grant('organisation', ['CREATE_PROJECT'])),
  // Projects (the cases make a fresh project for updating and deleting)
  updateProject: {
    need: grant('project', [], { admin: true, on: idArg }),
    sees: grant('project', ['VIEW_PROJECT'], { on: idArg }),
  },
  deleteProject: {
    need: grant('project', [], { admin: true, on: idArg }),
    sees: grant('project', ['VIEW_PROJECT'], { on: idArg }),
  },
  createEnvironment: inProject('CREATE_ENVIRONMENT'),
  revokePermissions: { need: PROJECT_ADMIN, sees: VIEW_PROJECT },
  createFeature: inProject('CREATE_FEATURE'),
  updateFeature: inProject('CREATE_FEATURE'),
  archiveFeatures: inProject('CREATE_FEATURE'),
  createMultivariateOption: inProject('CREATE_FEATURE'),
  updateMultivariateOption: inProject('CREATE_FEATURE'),
  deleteMultivariateOption: inProject('CREATE_FEATURE'),
  deleteFeature: inProject('DELETE_FEATURE'),
  deleteFeatures: inProject('DELETE_FEATURE'),
  createTag: inProject('MANAGE_TAGS'),
  updateTag: inProject('MANAGE_TAGS'),
  deleteTag: inProject('MANAGE_TAGS'),
  createSegment: inProject('MANAGE_SEGMENTS'),
  updateSegment: inProject('MANAGE_SEGMENTS'),
  deleteSegment: inProject('MANAGE_SEGMENTS'),
  // Environments (the cases make a fresh environment for updating and deleting)
  updateEnvironment: {
    need: grant('environment', [], { admin: true, on: idArg }),
    sees: grant('environment', ['VIEW_ENVIRONMENT'], { on: idArg }),
  },
  deleteEnvironment: {
    need: grant('environment', [], { admin: true, on: idArg }),
    sees: grant('environment', ['VIEW_ENVIRONMENT'], { on: idArg }),
  },
  createServerSideKey: inEnvironment(ENV_ADMIN),
  // Server-side keys exist only for environment admins (spec §1).
  updateServerSideKey: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  deleteServerSideKey: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  grantPermissions: inEnvironment(ENV_ADMIN),
  updateFeatureState: inEnvironment(environment('UPDATE_FEATURE_STATE')),
  updateFeatureStates: inEnvironment(environment('UPDATE_FEATURE_STATE')),
  createSegmentOverride: inEnvironment(environment('MANAGE_SEGMENT_OVERRIDES')),
  updateSegmentOverride: inEnvironment(environment('MANAGE_SEGMENT_OVERRIDES')),
  deleteSegmentOverride: inEnvironment(environment('MANAGE_SEGMENT_OVERRIDES')),
  reorderSegmentOverrides: inEnvironment(environment('MANAGE_SEGMENT_OVERRIDES')),
  createIdentity: inEnvironment(environment('MANAGE_IDENTITIES')),
  updateIdentityTraits: inEnvironment(environment('MANAGE_IDENTITIES'), VIEW_IDENTITIES),
  deleteIdentity: inEnvironment(environment('MANAGE_IDENTITIES'), VIEW_IDENTITIES),
  deleteIdentities: inEnvironment(environment('MANAGE_IDENTITIES'), VIEW_IDENTITIES),
  // Identity overrides are feature states (UPDATE_FEATURE_STATE) of an identity one may see.
  setIdentityOverride: inEnvironment(environment('UPDATE_FEATURE_STATE'), VIEW_IDENTITIES),
  deleteIdentityOverride: inEnvironment(environment('UPDATE_FEATURE_STATE'), VIEW_IDENTITIES),
  createEnvironmentWebhook: inEnvironment(ENV_ADMIN),
  updateWebhook: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  deleteWebhook: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  sendTestWebhookEvent: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  replayWebhookDelivery: inEnvironment(ENV_ADMIN, ENV_ADMIN),
  replayDeadWebhookDeliveries: inEnvironment(ENV_ADMIN, ENV_ADMIN),
};

/**
 * Guarded object fields: those whose own requirement differs from their type's (fields that
 * restate it add nothing the queries above do not test). Each is read through `path`, which
 * needs `reach`; a caller who reaches it but lacks `need` reads null (`hidden`) or is refused.
 */
interface FieldExpectation {
  readonly path: () => string;
  readonly vars: () => Record<string, unknown>;
  /** The field's value in the answer; undefined when the path gave no such record. */
  readonly pick: (data: Record<string, unknown>) => unknown;
  readonly reach: Expectation;
  readonly need: Need;
  readonly denial: 'hidden' | 'FORBIDDEN';
}

// --- Callers --------------------------------------------------------------------------------

const CALLERS = [
  'anonymous',
  'otherOrgAdmin',
  'member',
  'directGrant',
  'groupGrant',
  'roleGrant',
  'orgAdmin',
  'staff',
  'superuser',
  'orgApiKey',
] as const;
type Caller = (typeof CALLERS)[number];
const GRANTED: readonly Caller[] = ['directGrant', 'groupGrant', 'roleGrant'];
/** Callers with standing in our organisation (its members and its API key). */
const INSIDE: readonly Caller[] = [...GRANTED, 'member', 'orgAdmin', 'orgApiKey'];

/**
 * In a mutation a record the caller may not see reads like an unknown id, which the server
 * answers as BAD_USER_INPUT naming the argument ("no project with id …", through the
 * requirements) or, in the groups, roles and grants modules, as NOT_FOUND: either will do.
 */
const UNSEEN = 'NOT_FOUND|BAD_USER_INPUT';
type Outcome = 'allowed' | 'hidden' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | typeof UNSEEN;

const VIEW_KEY: Record<ScopeName, string | null> = {
  organisation: null,
  project: 'VIEW_PROJECT',
  environment: 'VIEW_ENVIRONMENT',
};

/**
 * What a granted caller holds for an operation: the key it needs and the VIEW key of that
 * scope (plus what seeing its record takes there). For a need no grant can meet
 * (organisation ADMIN, model permissions, one's own account) the strongest grant there is:
 * admin of our project.
 */
function heldFor(need: Need, sees: Need | undefined): Grant {
  const base = need.kind === 'grant' ? need.grant : sees?.kind === 'grant' ? sees.grant : undefined;
  if (!base) return { scope: 'project', keys: [], admin: true };
  const keys = new Set(base.keys);
  const view = VIEW_KEY[base.scope];
  if (view) keys.add(view);
  if (sees?.kind === 'grant' && sees.grant.scope === base.scope)
    sees.grant.keys.forEach((k) => keys.add(k));
  return { ...base, keys: [...keys] };
}

/** Does `held` satisfy `needed` (both on the case's records)? Project admin ⇒ env admin. */
function covers(held: Grant, needed: Grant): boolean {
  if (held.scope === 'project' && held.admin && needed.scope !== 'organisation') return true;
  if (held.scope !== needed.scope) return false;
  if (held.admin) return true;
  return !needed.admin && needed.keys.every((k) => held.keys.includes(k));
}

function meets(caller: Caller, need: Need, held: Grant): boolean {
  if (need.kind === 'public') return true;
  if (caller === 'anonymous') return false;
  if (caller === 'superuser') return true;
  switch (need.kind) {
    case 'signedIn':
      return true;
    case 'ownAccount':
      return caller !== 'orgApiKey';
    case 'model':
      return false;
    case 'member':
      return INSIDE.includes(caller);
    case 'orgAdmin':
      return caller === 'orgAdmin' || (caller === 'orgApiKey' && !need.usersOnly);
    case 'grant':
      return (
        caller === 'orgAdmin' ||
        caller === 'orgApiKey' ||
        (GRANTED.includes(caller) && covers(held, need.grant))
      );
  }
}

/**
 * The rule for refusals, once: anonymous callers are UNAUTHENTICATED; a caller who may not
 * see the record named is told it does not exist, exactly as for an unknown id (NOT_FOUND
 * in a query; in a mutation see UNSEEN); a caller who sees it but lacks what the operation
 * needs is FORBIDDEN.
 */
function expected(e: Expectation, caller: Caller, kind: 'query' | 'mutation'): Outcome {
  const held = heldFor(e.need, e.sees);
  if (meets(caller, e.need, held)) return 'allowed';
  if (caller === 'anonymous') return 'UNAUTHENTICATED';
  if (e.sees && !meets(caller, e.sees, held)) return kind === 'query' ? 'NOT_FOUND' : UNSEEN;
  return 'FORBIDDEN';
}

// --- The server and its people --------------------------------------------------------------

interface Credential {
  readonly token?: string;
  readonly apiKey?: string;
}

/** A caller: its credential (renewed when a case ends it) and whose own account it acts on. */
interface Who {
  cred: Credential;
  readonly self: number;
}

let t: TestApp;
let ws: Workspace;
let maker: { token: string; id: number };
let schema: GraphQLSchema;
const fixture: Record<string, string> = {};
/** Each caller's credential and the user whose own account they act on. */
const callers = new Map<Caller, Who>();
let serial = 0;
const unique = (prefix: string) => `${prefix}-${++serial}`;
const em = () => t.app.db.orm.em.fork();

const cases = mutationCases(() => ({ t, ws, admin: maker.token, adminId: maker.id }));

async function gqlAs(
  cred: Credential,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Pick<GqlResult, 'data' | 'errors'>> {
  if (!cred.apiKey) return t.gql(query, variables, cred.token ? { token: cred.token } : {});
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Api-Key ${cred.apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as {
    data?: Record<string, unknown>;
    errors?: GqlResult['errors'];
  };
  return { data: body.data ?? null, errors: body.errors };
}

/** Runs GraphQL as the maker (ADMIN of our organisation), failing on errors. */
async function asMaker<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  return ok(await t.gql<T>(query, variables, { token: maker.token }));
}

async function newToken(userId: number): Promise<string> {
  const fork = em();
  return t.app.services.tokens.issue(fork, await fork.findOneOrFail(User, userId), {});
}

const GRANT_MUTATION =
  'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }';

/** The records a grant is placed on: its `on` record, else ours of its scope. */
function placesOf(g: Grant, vars: Record<string, unknown>): Record<string, string>[] {
  if (g.on) return [{ [`${g.scope}Id`]: g.on(vars) }];
  if (g.scope === 'organisation') return [{ organisationId: ws.organisationId }];
  if (g.scope === 'project') return [{ projectId: ws.projectId }];
  return Object.values(ws.environments).map((environmentId) => ({ environmentId }));
}

/** Gives `holder` the grant on every place it goes (as the maker). */
async function place(
  holder: Record<string, string>,
  g: Grant,
  vars: Record<string, unknown>,
): Promise<void> {
  for (const where of placesOf(g, vars)) {
    await asMaker(GRANT_MUTATION, {
      i: { holder, ...where, keys: g.keys, admin: g.admin ?? false },
    });
  }
}

/** A new member of our organisation holding `g` directly, through a group or through a role. */
async function newGrantHolder(via: Caller, g: Grant, vars: Record<string, unknown>): Promise<Who> {
  const { user, token } = await t.createUser(`${unique(via)}@acme.test`);
  await t.addMember(user, ws.organisationId, OrganisationRole.USER);
  const userId = String(user.id);
  if (via === 'directGrant') {
    await place({ userId }, g, vars);
  } else if (via === 'groupGrant') {
    const group = await asMaker<{ createGroup: { id: string } }>(
      'mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }',
      { i: { organisationId: ws.organisationId, name: unique('group') } },
    );
    const groupId = group.createGroup.id;
    await asMaker(
      'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }',
      { g: groupId, u: [userId] },
    );
    await place({ groupId }, g, vars);
  } else {
    const role = await asMaker<{ createRole: { id: string } }>(
      'mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }',
      { i: { organisationId: ws.organisationId, name: unique('role') } },
    );
    const roleId = role.createRole.id;
    await asMaker(
      'mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { id } }',
      { r: roleId, h: { userId } },
    );
    await place({ roleId }, g, vars);
  }
  return { cred: { token }, self: user.id };
}

/** Grant holders for grants on our own records are made once and shared. */
const holders = new Map<string, Promise<Who>>();

function grantHolder(via: Caller, g: Grant, vars: Record<string, unknown>): Promise<Who> {
  if (g.on) return newGrantHolder(via, g, vars);
  const key = `${via}:${g.scope}:${g.admin ? 'admin' : ''}:${[...g.keys].sort().join(',')}`;
  let made = holders.get(key);
  if (!made) {
    made = newGrantHolder(via, g, vars);
    holders.set(key, made);
  }
  return made;
}

/**
 * The caller for one case. For an operation on another (fresh) organisation, the caller is
 * given the same standing there that it has in ours.
 */
async function callerFor(
  caller: Caller,
  e: Expectation,
  vars: Record<string, unknown>,
): Promise<Who> {
  const who = GRANTED.includes(caller)
    ? await grantHolder(caller, heldFor(e.need, e.sees), vars)
    : callers.get(caller)!;
  const elsewhere = e.organisation?.(vars);
  if (elsewhere && INSIDE.includes(caller)) {
    if (caller === 'orgApiKey') {
      const made = await asMaker<{ createOrganisationApiKey: { key: string } }>(
        'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { key } }',
        { i: { organisationId: elsewhere, name: unique('key') } },
      );
      return { ...who, cred: { apiKey: made.createOrganisationApiKey.key } };
    }
    const fork = em();
    const user = await fork.findOneOrFail(User, who.self);
    await t.addMember(
      user,
      elsewhere,
      caller === 'orgAdmin' ? OrganisationRole.ADMIN : OrganisationRole.USER,
    );
  }
  return who;
}

// --- Mutations the audit cases leave out (they change no data), set up here ----------------

interface Setup {
  readonly query: string;
  /** Variables, and a credential of the caller's to use instead of theirs (a spare token). */
  readonly setup: (who: Who) => Promise<Prepared & { cred?: Credential }>;
}

/** A spare token of the caller's own: signing out must not end the one the matrix uses. */
const spare = async (who: Who): Promise<Credential> =>
  who.cred.token ? { token: await newToken(who.self) } : who.cred;

async function newPerson(): Promise<{ id: number; email: string }> {
  const email = `${unique('person')}@example.com`;
  const user = await t.app.services.users.create(em(), { email, password: PASSWORD });
  return { id: user.id, email };
}

const SESSION_CASES: Record<string, Setup> = {
  login: {
    query:
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
    setup: async () => ({ vars: { e: (await newPerson()).email, p: PASSWORD } }),
  },
  completeTwoFactorLogin: {
    query:
      'mutation($c: String!, $code: String!) { completeTwoFactorLogin(input: { challenge: $c, code: $code, mode: TOKEN }) { token } }',
    setup: async () => {
      const person = await newPerson();
      const fork = em();
      const user = await fork.findOneOrFail(User, person.id);
      const app = new TestAuthenticator(
        (await t.app.services.twoFactor.begin(fork, user)).manualEntryKey,
      );
      await t.app.services.twoFactor.confirm(fork, user, await app.next());
      const first = await t.gql<{ login: { twoFactorChallenge: string } }>(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { twoFactorChallenge } }',
        { e: person.email, p: PASSWORD },
      );
      return { vars: { c: ok(first).login.twoFactorChallenge, code: await app.next() } };
    },
  },
  requestPasswordReset: {
    query: 'mutation($e: String!) { requestPasswordReset(email: $e) }',
    setup: async () => ({ vars: { e: (await newPerson()).email } }),
  },
  logout: {
    query: 'mutation { logout }',
    setup: async (who) => ({ cred: await spare(who) }),
  },
  logoutEverywhere: {
    // Ends every other session of the caller's: the runner gives them a new token after it.
    query: 'mutation { logoutEverywhere(keepCurrent: true) }',
    setup: async (who) => ({ cred: await spare(who) }),
  },
  revokeSession: {
    query: 'mutation($id: ID!) { revokeSession(id: $id) }',
    setup: async (who) => {
      const token = await newToken(who.self);
      return { vars: { id: publicSessionId(sha256Hex(token)) } };
    },
  },
  beginTwoFactorSetup: {
    query: 'mutation { beginTwoFactorSetup { otpauthUri } }',
    setup: async (who) => {
      const fork = em();
      await t.app.services.twoFactor.disable(fork, await fork.findOneOrFail(User, who.self));
      return {};
    },
  },
};

/** Mutations after which the caller's own token may have ended: it gets a new one. */
const ENDS_OTHER_SESSIONS = new Set(['logoutEverywhere']);

// --- Queries: only the required ids, selecting `__typename` ---------------------------------

/** Values for the required arguments of queries, by argument name. */
function queryArgs(): Record<string, unknown> {
  return {
    organisationId: ws.organisationId,
    projectId: ws.projectId,
    environmentId: ws.environments.Development,
    featureId: fixture.feature,
    webhookId: fixture.webhook,
    userId: String(maker.id),
    from: '2024-01-01',
    to: '2024-01-31',
  };
}

/** `id` arguments name different records per query. */
const ID_OF: Record<string, () => string> = {
  organisation: () => ws.organisationId,
  project: () => ws.projectId,
  environment: () => ws.environments.Development!,
  feature: () => fixture.feature!,
  segment: () => fixture.segment!,
  identity: () => fixture.identity!,
  group: () => fixture.group!,
  role: () => fixture.role!,
  webhook: () => fixture.webhook!,
};

/** Arguments a query takes without requiring them, passed because it needs one of them. */
const CHOSEN_ARGS: Record<string, string[]> = { permissionGrants: ['projectId'] };

function queryFor(field: GraphQLField<unknown, unknown>): {
  query: string;
  vars: Record<string, unknown>;
} {
  const values = queryArgs();
  const used = field.args.filter(
    (a) =>
      (isNonNullType(a.type) && a.defaultValue === undefined) ||
      CHOSEN_ARGS[field.name]?.includes(a.name),
  );
  const vars: Record<string, unknown> = {};
  for (const a of used) {
    const value = a.name === 'id' ? ID_OF[field.name]?.() : values[a.name];
    if (value === undefined) throw new Error(`no value for ${field.name}(${a.name})`);
    vars[a.name] = value;
  }
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  return {
    query: `query${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`,
    vars,
  };
}

// --- Guarded fields ---------------------------------------------------------------------------

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), value);
/** A list field's items, whether it answers a list or a connection (`nodes`). */
const items = (value: unknown): Json[] | undefined =>
  Array.isArray(value) ? (value as Json[]) : (at(value, 'nodes') as Json[] | undefined);

/**
 * Selects `inner` on each item of the list field `type.field`, which is being converted
 * from a list to a connection: through `nodes` when it is one.
 */
function each(type: string, field: string, inner: string): string {
  const t = schema.getType(type) as GraphQLObjectType;
  const named = getNamedType(t.getFields()[field]!.type);
  return isObjectType(named) && named.getFields().nodes
    ? `${field} { nodes ${inner} }`
    : `${field} ${inner}`;
}

/** The maker's entry among our organisation's members. */
const makerMember = (data: Json) =>
  items(at(data, 'organisation', 'members'))?.find((m) => at(m, 'user', 'id') === String(maker.id));
/** The role of the first grant held by a role on our project. */
const grantRole = (data: Json) => items(at(data, 'permissionGrants'))?.find((g) => g.role)?.role;

const membersPath = (field: string) =>
  `query($o: ID!) { organisation(id: $o) { ${each('Organisation', 'members', `{ user { id ${field} } }`)} } }`;
const rolePath = (field: string) =>
  `query($p: ID!) { ${each('Query', 'permissionGrants', `{ role { id ${field} } }`).replace('permissionGrants', 'permissionGrants(projectId: $p)')} }`;
const orgVars = () => ({ o: ws.organisationId });
const projectVars = () => ({ p: ws.projectId });
const REACH_GRANTS: Expectation = { need: PROJECT_ADMIN, sees: VIEW_PROJECT };

const FIELDS: Record<string, FieldExpectation> = {
  // Self, an admin of an organisation the user belongs to, or view_user: the maker's email
  // is for our organisation's admins.
  'User.email': {
    path: () => membersPath('email'),
    vars: orgVars,
    pick: (d) => at(makerMember(d), 'user', 'email'),
    reach: inOrg(MEMBER),
    need: ORG_ADMIN,
    denial: 'hidden',
  },
  'User.twoFactorEnabled': {
    path: () => membersPath('twoFactorEnabled'),
    vars: orgVars,
    pick: (d) => at(makerMember(d), 'user', 'twoFactorEnabled'),
    reach: inOrg(MEMBER),
    need: ORG_ADMIN,
    denial: 'hidden',
  },
  'Environment.serverSideKeys': {
    path: () =>
      `query($e: ID!) { environment(id: $e) { ${each('Environment', 'serverSideKeys', '{ id }')} } }`,
    vars: () => ({ e: ws.environments.Development }),
    pick: (d) => items(at(d, 'environment', 'serverSideKeys')),
    reach: inEnvironment(VIEW_ENVIRONMENT),
    need: ENV_ADMIN,
    denial: 'FORBIDDEN',
  },
  'Organisation.members': {
    path: () =>
      `query($o: ID!) { organisation(id: $o) { ${each('Organisation', 'members', '{ id }')} } }`,
    vars: orgVars,
    pick: (d) => items(at(d, 'organisation', 'members')),
    reach: inOrg(MEMBER),
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  'Organisation.projects': {
    path: () =>
      `query($o: ID!) { organisation(id: $o) { ${each('Organisation', 'projects', '{ id }')} } }`,
    vars: orgVars,
    pick: (d) => items(at(d, 'organisation', 'projects')),
    reach: inOrg(MEMBER),
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  'Organisation.myRole': {
    path: () => 'query($o: ID!) { organisation(id: $o) { myRole } }',
    vars: orgVars,
    // Null for superusers, who are no members: read the answer's key instead of its value.
    pick: (d) => (at(d, 'organisation') as Json | undefined)?.myRole !== undefined || undefined,
    reach: inOrg(MEMBER),
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  'UserGroup.organisationId': {
    path: () => 'query($g: ID!) { group(id: $g) { organisationId } }',
    vars: () => ({ g: fixture.group }),
    pick: (d) => at(d, 'group', 'organisationId'),
    reach: inOrg(MEMBER),
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  'UserGroup.members': {
    path: () =>
      `query($g: ID!) { group(id: $g) { ${each('UserGroup', 'members', '{ user { id } }')} } }`,
    vars: () => ({ g: fixture.group }),
    pick: (d) => items(at(d, 'group', 'members')),
    reach: inOrg(MEMBER),
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  // A role reached through the grants of our project (project admins see who holds what).
  'Role.organisationId': {
    path: () => rolePath('organisationId'),
    vars: projectVars,
    pick: (d) => at(grantRole(d), 'organisationId'),
    reach: REACH_GRANTS,
    need: MEMBER,
    denial: 'FORBIDDEN',
  },
  'Role.grants': {
    path: () => rolePath(each('Role', 'grants', '{ id }')),
    vars: projectVars,
    pick: (d) => at(grantRole(d), 'grants'),
    reach: REACH_GRANTS,
    need: ORG_ADMIN,
    denial: 'hidden',
  },
  'Role.assignments': {
    path: () => rolePath(each('Role', 'assignments', '{ id }')),
    vars: projectVars,
    pick: (d) => at(grantRole(d), 'assignments'),
    reach: REACH_GRANTS,
    need: ORG_ADMIN,
    denial: 'hidden',
  },
};

function expectedField(f: FieldExpectation, caller: Caller): Outcome {
  const reached = expected(f.reach, caller, 'query');
  if (reached !== 'allowed') return reached;
  const held = heldFor(f.need.kind === 'grant' ? f.need : f.reach.need, f.reach.sees);
  return meets(caller, f.need, held) ? 'allowed' : f.denial;
}

/** Non-root fields whose requirement differs from their type's. */
function guardedFields(s: GraphQLSchema): string[] {
  const reqs = (holder: { extensions?: unknown }) =>
    (holder.extensions as Record<string, unknown> | undefined)?.[REQUIRES_EXTENSION];
  const out: string[] = [];
  for (const type of Object.values(s.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    if (['Query', 'Mutation', 'Subscription'].includes(type.name)) continue;
    const own = JSON.stringify(reqs(type) ?? null);
    for (const field of Object.values(type.getFields())) {
      const r = reqs(field);
      if (r !== undefined && JSON.stringify(r) !== own) out.push(`${type.name}.${field.name}`);
    }
  }
  return out.sort();
}

// --- Running ----------------------------------------------------------------------------------

interface Result {
  /** An outcome, or whatever else came back (an unexpected error code). */
  readonly outcome: string;
  readonly detail: string;
}

const codeOrAllowed = (res: Pick<GqlResult, 'data' | 'errors'>): Result => {
  const error = res.errors?.[0];
  if (!error) return { outcome: 'allowed', detail: '' };
  return {
    outcome: String(error.extensions?.code ?? 'no code'),
    detail: error.message,
  };
};

const wrong: string[] = [];
let ran = 0;

function check(label: string, caller: Caller, want: Outcome, got: Result): void {
  ran++;
  const same = want === UNSEEN ? want.split('|').includes(got.outcome) : got.outcome === want;
  if (!same) {
    wrong.push(
      `${label} as ${caller}: expected ${want}, got ${got.outcome}${got.detail ? ` (${got.detail})` : ''}`,
    );
  }
}

async function runQuery(field: GraphQLField<unknown, unknown>, caller: Caller): Promise<void> {
  const e = QUERIES[field.name]!;
  const { query, vars } = queryFor(field);
  const who = await callerFor(caller, e, vars);
  check(
    `query ${field.name}`,
    caller,
    expected(e, caller, 'query'),
    codeOrAllowed(await gqlAs(who.cred, query, vars)),
  );
}

/** Whether the caller depends on the records a case makes (grants on them, their organisation). */
const onFreshRecords = (e: Expectation): boolean =>
  Boolean(
    e.organisation ||
    (e.need.kind === 'grant' && e.need.grant.on) ||
    (e.sees?.kind === 'grant' && e.sees.grant.on),
  );

async function runMutation(name: string, caller: Caller): Promise<void> {
  const e = MUTATIONS[name]!;
  const shared = cases[name];
  const local = SESSION_CASES[name];
  let prepared: Prepared & { cred?: Credential };
  let who: Who;
  if (local) {
    who = await callerFor(caller, e, {});
    prepared = await local.setup(who);
  } else if (!shared) {
    throw new Error(`no setup for mutation ${name}`);
  } else if (onFreshRecords(e)) {
    prepared = (await shared.setup?.()) ?? {};
    who = await callerFor(caller, e, prepared.vars ?? {});
  } else {
    // Made for the caller's own account where the mutation acts on it (password, 2FA).
    who = await callerFor(caller, e, {});
    prepared = (await shared.setup?.(who.self)) ?? {};
  }
  const query = local?.query ?? shared!.query;
  const res = await gqlAs(prepared.cred ?? who.cred, query, prepared.vars ?? {});
  check(`mutation ${name}`, caller, expected(e, caller, 'mutation'), codeOrAllowed(res));
  // Its own token ended with the others: the caller gets a new one.
  if (ENDS_OTHER_SESSIONS.has(name) && who.cred.token)
    who.cred = { token: await newToken(who.self) };
}

async function runField(name: string, caller: Caller): Promise<void> {
  const f = FIELDS[name]!;
  const want = expectedField(f, caller);
  const held = heldFor(f.need.kind === 'grant' ? f.need : f.reach.need, f.reach.sees);
  const who = GRANTED.includes(caller) ? await grantHolder(caller, held, {}) : callers.get(caller)!;
  const res = await gqlAs(who.cred, f.path(), f.vars());
  let got = codeOrAllowed(res);
  if (got.outcome === 'allowed') {
    const value = f.pick(res.data ?? {});
    if (value === undefined) got = { outcome: 'no record', detail: `the path gave no ${name}` };
    else if (value === null) got = { outcome: 'hidden', detail: '' };
  }
  check(`field ${name}`, caller, want, got);
}

/** Runs the callers of one operation side by side. */
const eachCaller = (run: (caller: Caller) => Promise<void>) =>
  Promise.all(CALLERS.map((caller) => run(caller)));

describe('the permission matrix: every operation and guarded field × ten callers', () => {
  let queries: GraphQLField<unknown, unknown>[];
  let mutations: string[];
  let fields: string[];

  beforeAll(async () => {
    schema = await buildFlagwardSchema();
    queries = Object.values((schema.getQueryType() as GraphQLObjectType).getFields());
    mutations = Object.keys((schema.getMutationType() as GraphQLObjectType).getFields());
    fields = guardedFields(schema);

    t = await createTestApp(undefined, {
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      WEBHOOK_WORKER: 'false',
    });
    const made = await t.createUser('maker@acme.test');
    maker = { token: made.token, id: made.user.id };
    ws = await createWorkspace(t, maker.token);

    const person = async (
      email: string,
      extra: { isStaff?: boolean; isSuperuser?: boolean } = {},
    ) => {
      const { user, token } = await t.createUser(email, extra);
      return { user, cred: { token }, self: user.id };
    };
    const bystander = async () => (await newPerson()).id;

    callers.set('anonymous', { cred: {}, self: await bystander() });
    const outsider = await person('outsider@other.test');
    await createWorkspace(t, outsider.cred.token, { organisation: 'Other', project: 'Theirs' });
    callers.set('otherOrgAdmin', outsider);
    const member = await person('member@acme.test');
    await t.addMember(member.user, ws.organisationId, OrganisationRole.USER);
    callers.set('member', member);
    const admin = await person('admin@acme.test');
    await t.addMember(admin.user, ws.organisationId, OrganisationRole.ADMIN);
    callers.set('orgAdmin', admin);
    callers.set('staff', await person('staff@example.com', { isStaff: true }));
    callers.set('superuser', await person('root@example.com', { isSuperuser: true }));
    const key = await asMaker<{ createOrganisationApiKey: { key: string } }>(
      'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { key } }',
      { i: { organisationId: ws.organisationId, name: 'terraform' } },
    );
    callers.set('orgApiKey', {
      cred: { apiKey: key.createOrganisationApiKey.key },
      self: await bystander(),
    });

    // Records the queries name.
    const id = (data: Record<string, unknown>) => (Object.values(data)[0] as { id: string }).id;
    fixture.feature = id(
      await asMaker(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "matrix_flag" }) { id } }',
        {
          p: ws.projectId,
        },
      ),
    );
    fixture.segment = id(
      await asMaker(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "matrix", rules: [{ type: ALL, conditions: [{ operator: IS_SET, property: "plan" }] }] }) { id } }',
        { p: ws.projectId },
      ),
    );
    fixture.identity = id(
      await asMaker(
        'mutation($e: ID!) { createIdentity(input: { environmentId: $e, identifier: "matrix-user" }) { id } }',
        { e: ws.environments.Development },
      ),
    );
    fixture.group = id(
      await asMaker(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "Matrix" }) { id } }',
        {
          o: ws.organisationId,
        },
      ),
    );
    fixture.role = id(
      await asMaker(
        'mutation($o: ID!) { createRole(input: { organisationId: $o, name: "Readers" }) { id } }',
        {
          o: ws.organisationId,
        },
      ),
    );
    await asMaker(GRANT_MUTATION, {
      i: { holder: { roleId: fixture.role }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] },
    });
    fixture.webhook = id(
      await asMaker(
        'mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) { id } }',
        { i: { environmentId: ws.environments.Development, url: HOOK_URL, name: 'matrix' } },
      ),
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  it('has an expectation for every query, mutation and guarded field, and none for others', () => {
    const names = (kind: string, actual: string[], table: object) => ({
      missing: actual.filter((n) => !(n in table)).map((n) => `${kind} ${n}`),
      stale: Object.keys(table)
        .filter((n) => !actual.includes(n))
        .map((n) => `${kind} ${n}`),
    });
    const all = [
      names(
        'query',
        queries.map((q) => q.name),
        QUERIES,
      ),
      names('mutation', mutations, MUTATIONS),
      names('field', fields, FIELDS),
    ];
    expect(
      all.flatMap((a) => a.missing),
      'operations without an expectation',
    ).toEqual([]);
    expect(
      all.flatMap((a) => a.stale),
      'expectations for operations not in the schema',
    ).toEqual([]);
    expect(
      mutations.filter((m) => !cases[m] && !SESSION_CASES[m]),
      'mutations without a setup',
    ).toEqual([]);
  });

  it('allows and refuses exactly as the expectations say', { timeout: 300_000 }, async () => {
    for (const q of queries) if (QUERIES[q.name]) await eachCaller((c) => runQuery(q, c));
    for (const m of mutations) if (MUTATIONS[m]) await eachCaller((c) => runMutation(m, c));
    for (const f of fields) if (FIELDS[f]) await eachCaller((c) => runField(f, c));

    const ops = queries.length + mutations.length;
    console.log(
      `permission matrix: ${ran} cases (${ops} operations and ${fields.length} guarded fields × ${CALLERS.length} callers), ${wrong.length} wrong`,
    );
    expect(ran).toBe((ops + fields.length) * CALLERS.length);
    expect(wrong, `${wrong.length} wrong allows or denies`).toEqual([]);
  });
});
