import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { Environment } from '../environments/environment.entity';
import { ServerSideKey } from '../environments/server-side-key.entity';
import { FeatureSegment, FeatureState } from '../features/feature-state.entity';
import { Feature } from '../features/feature.entity';
import { MultivariateOption } from '../features/multivariate-option.entity';
import { Identity } from '../identities/identity.entity';
import { Segment } from '../segments/segment.entity';
import { Tag } from '../projects/tag.entity';
import { UserGroup, UserGroupMembership } from '../groups/user-group.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { OrganisationMembership, OrganisationRole } from '../organisations/membership.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Project } from '../projects/project.entity';
import { Role, RoleAssignment } from '../roles/role.entity';
import { ForbiddenError, UnauthenticatedError } from '../shared/errors';
import type { Principal } from '../users/principal';
import type { GrantableKey, ModelCodename, PermissionKey, Scope } from './keys';
import { ModelPermissionGrant, PermissionGrant } from './permission-grant.entity';
import { ruleFor } from './rules';
import { WebhookDelivery } from '../webhooks/delivery.entity';
import { Webhook } from '../webhooks/webhook.entity';

/** Where a record sits: its organisation, and its project and environment when it has them. */
export interface ScopeRef {
  readonly organisationId: number;
  readonly projectId?: number;
  readonly environmentId?: number;
}

/** The records permissions are checked on, directly or through a parent. */
export type Scoped =
  | Organisation
  | OrganisationMembership
  | OrganisationApiKey
  | Project
  | Feature
  | Segment
  | Tag
  | MultivariateOption
  | Environment
  | ServerSideKey
  | FeatureSegment
  | FeatureState
  | Identity
  | Webhook
  | WebhookDelivery
  | UserGroup
  | Role;

interface GrantRow {
  readonly scope: Scope;
  readonly organisationId: number;
  readonly projectId: number | null;
  readonly environmentId: number | null;
  readonly admin: boolean;
  readonly keys: ReadonlySet<string>;
}

/** What the principal holds, loaded once per request. */
interface Snapshot {
  readonly roles: ReadonlyMap<number, OrganisationRole>;
  readonly grants: readonly GrantRow[];
  readonly modelCodenames: ReadonlySet<string>;
  /**
   * Organisations the user belongs to but may not reach yet: they require two-factor
   * sign-in, which the user has not turned on. Their memberships count for nothing meanwhile.
   */
  readonly awaitingTwoFactor: ReadonlySet<number>;
}

const EMPTY: Snapshot = {
  roles: new Map(),
  grants: [],
  modelCodenames: new Set(),
  awaitingTwoFactor: new Set(),
};

/**
 * Answers "may this principal do KEY on that record?" for one request. Single checks
 * (`can`/`assert`) and list filters (`filter`) are both derived from the rule table in
 * rules.ts and from one snapshot of the principal's memberships and grants.
 */
export class PermissionService {
  private snapshot: Promise<Snapshot> | undefined;
  /** Where projects and environments sit, read once per request (a page asks per row). */
  private readonly projectScopes = new Map<number, Promise<ScopeRef>>();
  private readonly environmentScopes = new Map<number, Promise<ScopeRef>>();

  constructor(
    private readonly em: EntityManager,
    readonly principal: Principal,
  ) {}

  /**
   * Drops what was loaded, so the next check reads the grants again: for a request that
   * changed its own caller's grants (a creator becoming admin of what they created).
   */
  forget(): void {
    this.snapshot = undefined;
  }

  get isAuthenticated(): boolean {
    return this.principal.kind !== 'anonymous';
  }

  get userId(): number | undefined {
    return this.principal.kind === 'user' ? this.principal.user.id : undefined;
  }

  /** The organisation API key making the request, if one is. */
  get apiKeyId(): number | undefined {
    return this.principal.kind === 'apiKey' ? this.principal.key.id : undefined;
  }

  get isSuperuser(): boolean {
    return (
      this.principal.kind === 'user' &&
      this.principal.user.isSuperuser &&
      this.principal.user.isActive
    );
  }

  get isStaff(): boolean {
    return (
      this.principal.kind === 'user' &&
      this.principal.user.isActive &&
      (this.principal.user.isStaff || this.principal.user.isSuperuser)
    );
  }

  /**
   * The signed-in user's id. Anonymous callers are UNAUTHENTICATED; an organisation API key
   * is signed in, but only people may do this: FORBIDDEN.
   */
  requireUser(): number {
    const id = this.userId;
    if (id !== undefined) return id;
    if (this.principal.kind === 'apiKey') {
      throw new ForbiddenError('Only a signed-in person may do this, not an organisation API key');
    }
    throw new UnauthenticatedError();
  }

  /** May the principal do `key` on `target`? */
  async can(key: PermissionKey, target: Scoped | ScopeRef): Promise<boolean> {
    if (this.isSuperuser) return true;
    if (!this.isAuthenticated) return false;
    const ref = 'organisationId' in target ? target : await this.scopeOf(target);
    const snap = await this.load();
    if (this.decide(snap, key, ref)) return true;
    if (snap.awaitingTwoFactor.has(ref.organisationId)) {
      throw new ForbiddenError(
        'This organisation requires two-factor sign-in: turn yours on (beginTwoFactorSetup) to reach it',
        { reason: 'TWO_FACTOR_REQUIRED', organisationId: String(ref.organisationId) },
      );
    }
    return false;
  }

  /** Throws FORBIDDEN naming the key when `can` is false. */
  async assert(key: PermissionKey, target: Scoped | ScopeRef): Promise<void> {
    if (!this.isAuthenticated) throw new UnauthenticatedError();
    if (!(await this.can(key, target))) {
      throw new ForbiddenError(`You need ${key} for this`, { permission: key });
    }
  }

  async hasModelPermission(codename: ModelCodename): Promise<boolean> {
    if (this.isSuperuser) return true;
    if (!this.isAuthenticated) return false;
    return (await this.load()).modelCodenames.has(codename);
  }

  /** Organisation ids where the principal is a member (with any role). */
  async memberOrganisationIds(): Promise<number[]> {
    return [...(await this.load()).roles.keys()];
  }

  async adminOrganisationIds(): Promise<number[]> {
    const { roles } = await this.load();
    return [...roles].filter(([, r]) => r === OrganisationRole.ADMIN).map(([id]) => id);
  }

  /**
   * A MikroORM filter selecting exactly the records of `entity` on which the principal
   * holds `key`. Every list query goes through one of these.
   */
  async filter(key: PermissionKey, entity: typeof Organisation): Promise<FilterQuery<Organisation>>;
  async filter(key: PermissionKey, entity: typeof Project): Promise<FilterQuery<Project>>;
  async filter(key: PermissionKey, entity: typeof Environment): Promise<FilterQuery<Environment>>;
  async filter(
    key: PermissionKey,
    entity: typeof Organisation | typeof Project | typeof Environment,
  ): Promise<FilterQuery<Organisation> | FilterQuery<Project> | FilterQuery<Environment>> {
    if (this.isSuperuser) return {};
    const none = { id: { $in: [] as number[] } };
    if (!this.isAuthenticated) return none;
    const snap = await this.load();
    const rule = ruleFor(key);
    const admins = [...snap.roles]
      .filter(([, r]) => r === OrganisationRole.ADMIN)
      .map(([id]) => id);
    const holds = (g: GrantRow): boolean => rule.grantKey !== null && g.keys.has(rule.grantKey);

    if (entity === Organisation) {
      if (rule.scope !== 'ORGANISATION') throw new Error(`${key} is not checked on organisations`);
      const ids = new Set(admins);
      if (rule.memberSuffices) for (const id of snap.roles.keys()) ids.add(id);
      for (const g of snap.grants)
        if (g.scope === 'ORGANISATION' && holds(g)) ids.add(g.organisationId);
      return { id: { $in: [...ids] } };
    }

    const projectAdmin = snap.grants
      .filter((g) => g.scope === 'PROJECT' && g.admin)
      .map((g) => g.projectId!);
    if (entity === Project) {
      if (rule.scope !== 'PROJECT') throw new Error(`${key} is not checked on projects`);
      const ids = new Set<number>(projectAdmin);
      for (const g of snap.grants) if (g.scope === 'PROJECT' && holds(g)) ids.add(g.projectId!);
      return { $or: [{ organisation: { $in: admins } }, { id: { $in: [...ids] } }] };
    }

    if (rule.scope !== 'ENVIRONMENT') throw new Error(`${key} is not checked on environments`);
    const envIds = new Set<number>();
    for (const g of snap.grants) {
      if (g.scope === 'ENVIRONMENT' && (g.admin || holds(g))) envIds.add(g.environmentId!);
    }
    return {
      $or: [
        { project: { organisation: { $in: admins } } },
        { project: { $in: projectAdmin } },
        { id: { $in: [...envIds] } },
      ],
    };
  }

  /** The organisation/project/environment a record belongs to, read from stored rows. */
  async scopeOf(record: Scoped): Promise<ScopeRef> {
    if (record instanceof Organisation) return { organisationId: record.id };
    if (record instanceof OrganisationMembership || record instanceof OrganisationApiKey)
      return { organisationId: record.organisation.id };
    if (record instanceof Role) return { organisationId: record.organisation.id };
    if (record instanceof UserGroup) {
      // Instance groups (model permissions) belong to no organisation: none of its rules apply.
      if (!record.organisation) throw new Error(`group ${record.id} belongs to no organisation`);
      return { organisationId: record.organisation.id };
    }
    if (record instanceof Project)
      return { organisationId: record.organisation.id, projectId: record.id };
    if (record instanceof Feature || record instanceof Segment || record instanceof Tag)
      return this.projectScope(record.project.id);
    if (record instanceof MultivariateOption) {
      const feature = await this.em.findOneOrFail(Feature, record.feature.id);
      return this.projectScope(feature.project.id);
    }
    if (record instanceof WebhookDelivery)
      return this.scopeOf(await this.em.findOneOrFail(Webhook, record.webhook.id));
    if (record instanceof Webhook)
      return record.environment
        ? this.environmentScope(record.environment.id)
        : { organisationId: record.organisation!.id };
    return this.environmentScope(record instanceof Environment ? record.id : record.environment.id);
  }

  private projectScope(projectId: number): Promise<ScopeRef> {
    let scope = this.projectScopes.get(projectId);
    if (!scope) {
      scope = this.em
        .findOneOrFail(Project, projectId)
        .then((project) => ({ organisationId: project.organisation.id, projectId }));
      this.projectScopes.set(projectId, scope);
      scope.catch(() => this.projectScopes.delete(projectId)); // not cached when missing
    }
    return scope;
  }

  private environmentScope(environmentId: number): Promise<ScopeRef> {
    let scope = this.environmentScopes.get(environmentId);
    if (!scope) {
      scope = this.em.findOneOrFail(Environment, environmentId).then(async (environment) => ({
        ...(await this.projectScope(environment.project.id)),
        environmentId,
      }));
      this.environmentScopes.set(environmentId, scope);
      scope.catch(() => this.environmentScopes.delete(environmentId));
    }
    return scope;
  }

  private decide(snap: Snapshot, key: PermissionKey, ref: ScopeRef): boolean {
    const role = snap.roles.get(ref.organisationId);
    if (role === undefined) return false; // grants count only for members
    if (role === OrganisationRole.ADMIN) return true;
    const rule = ruleFor(key);
    if (rule.memberSuffices) return true;
    const grantKey = rule.grantKey;
    const holds = (g: GrantRow): boolean => grantKey !== null && g.keys.has(grantKey);
    switch (rule.scope) {
      case 'ORGANISATION':
        return snap.grants.some(
          (g) => g.scope === 'ORGANISATION' && g.organisationId === ref.organisationId && holds(g),
        );
      case 'PROJECT':
      case 'ENVIRONMENT': {
        // Over a whole organisation (an organisation webhook, say), a project or environment
        // key is held by the organisation's admins alone, and they were answered above.
        if (ref.projectId === undefined) return false;
        const onProject = snap.grants.filter(
          (g) => g.scope === 'PROJECT' && g.projectId === ref.projectId,
        );
        if (rule.projectAdminSuffices && onProject.some((g) => g.admin)) return true;
        if (rule.scope === 'PROJECT') return onProject.some(holds);
        if (ref.environmentId === undefined) throw new Error(`${key} needs an environment`);
        const onEnv = snap.grants.filter(
          (g) => g.scope === 'ENVIRONMENT' && g.environmentId === ref.environmentId,
        );
        return (rule.environmentAdminSuffices && onEnv.some((g) => g.admin)) || onEnv.some(holds);
      }
    }
  }

  private load(): Promise<Snapshot> {
    this.snapshot ??=
      this.principal.kind === 'user'
        ? this.loadForUser(this.principal.user.id)
        : this.principal.kind === 'apiKey'
          ? this.loadForApiKey(this.principal.key)
          : Promise.resolve(EMPTY);
    return this.snapshot;
  }

  /**
   * An organisation API key is an organisation ADMIN of its own organisation when it is an
   * admin key; otherwise a member holding the grants of the roles assigned to it. It has no
   * standing anywhere else, and no model permissions.
   */
  private async loadForApiKey(key: {
    readonly id: number;
    readonly organisationId: number;
    readonly isAdmin: boolean;
  }): Promise<Snapshot> {
    const roles = new Map([
      [key.organisationId, key.isAdmin ? OrganisationRole.ADMIN : OrganisationRole.USER],
    ]);
    if (key.isAdmin) {
      return { roles, grants: [], modelCodenames: new Set(), awaitingTwoFactor: new Set() };
    }
    const assigned = await this.em.find(RoleAssignment, { apiKey: key.id }, { fields: ['role'] });
    const grants = await this.em.find(PermissionGrant, {
      organisation: key.organisationId,
      role: { $in: assigned.map((r) => r.role.id) },
    });
    return {
      roles,
      grants: grants.map(grantRow),
      modelCodenames: new Set(),
      awaitingTwoFactor: new Set(),
    };
  }

  private async loadForUser(userId: number): Promise<Snapshot> {
    const em = this.em;
    const [memberships, groupRows] = await Promise.all([
      // With its organisation (one join): whether it requires two-factor sign-in.
      em.find(OrganisationMembership, { user: userId }, { populate: ['organisation'] }),
      em.find(UserGroupMembership, { user: userId }, { fields: ['group'], populate: ['group'] }),
    ]);
    // Organisations requiring two-factor sign-in hold back a user who has not turned it on.
    const hasTwoFactor = this.principal.kind === 'user' && this.principal.user.twoFactorEnabled;
    const awaitingTwoFactor = new Set(
      hasTwoFactor
        ? []
        : memberships.filter((m) => m.organisation.force2fa).map((m) => m.organisation.id),
    );
    const roles = new Map(
      memberships
        .filter((m) => !awaitingTwoFactor.has(m.organisation.id))
        .map((m) => [m.organisation.id, m.role]),
    );
    const groupIds = groupRows.map((g) => g.group.id);
    const instanceGroupIds = groupRows.filter((g) => !g.group.organisation).map((g) => g.group.id);
    const roleRows = await em.find(
      RoleAssignment,
      { $or: [{ user: userId }, { group: { $in: groupIds } }] },
      { fields: ['role'] },
    );
    const [grants, modelGrants] = await Promise.all([
      roles.size === 0
        ? Promise.resolve([])
        : em.find(PermissionGrant, {
            organisation: { $in: [...roles.keys()] },
            $or: [
              { user: userId },
              { group: { $in: groupIds } },
              { role: { $in: roleRows.map((r) => r.role.id) } },
            ],
          }),
      em.find(ModelPermissionGrant, {
        $or: [{ user: userId }, { group: { $in: instanceGroupIds } }],
      }),
    ]);
    return {
      roles,
      grants: grants.map(grantRow),
      modelCodenames: new Set(modelGrants.map((m) => m.codename)),
      awaitingTwoFactor,
    };
  }
}

function grantRow(g: PermissionGrant): GrantRow {
  return {
    scope: g.scope as Scope,
    organisationId: g.organisation.id,
    projectId: g.project?.id ?? null,
    environmentId: g.environment?.id ?? null,
    admin: g.admin,
    keys: new Set<string>(g.keys satisfies GrantableKey[]),
  };
}
