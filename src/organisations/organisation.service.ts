import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { environmentsChanged, touchEnvironments } from '../environments/touch';
import { UserGroup, UserGroupMembership } from '../groups/user-group.entity';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import type { Config } from '../config/config';
import type { PermissionService } from '../permissions/permission.service';
import { ConflictError, ForbiddenError, ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { orderedPage, type Page } from '../shared/cursor';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import { membershipKeys, type UserListArgs, userConditions } from '../users/user-list';
import type { UserService } from '../users/user.service';
import { OrganisationMembership, OrganisationRole } from './membership.entity';
import type {
  AddMemberInput,
  CreateOrganisationInput,
  UpdateMemberInput,
  UpdateOrganisationInput,
} from './organisation.inputs';
import { Organisation } from './organisation.entity';

const MEMBER_KEYS = membershipKeys<OrganisationMembership>();

/** Organisations and who belongs to them. Permission checks on ids happen before these calls. */
export class OrganisationService {
  constructor(
    private readonly config: Config,
    private readonly users: UserService,
    private readonly audit: AuditService,
  ) {}

  /** A page of the organisations the caller belongs to. */
  async list(
    em: EntityManager,
    p: PermissionService,
    args: NamedListArgs,
  ): Promise<Page<Organisation>> {
    return namedPage(em, Organisation, [await p.filter('ORGANISATION_MEMBER', Organisation)], args);
  }

  /** A page of every organisation of the instance (holders of view_organisation). */
  listAll(em: EntityManager, args: NamedListArgs): Promise<Page<Organisation>> {
    return namedPage(em, Organisation, [], args);
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    input: CreateOrganisationInput,
  ): Promise<Organisation> {
    const userId = p.requireUser();
    if (this.config.restrictOrganisationCreateToSuperusers && !p.isSuperuser) {
      throw new ForbiddenError('Only superusers may create organisations on this instance');
    }
    return em.transactional(async (tx) => {
      const org = tx.create(Organisation, { name: input.name.trim() });
      tx.create(OrganisationMembership, {
        organisation: org,
        user: userId,
        role: OrganisationRole.ADMIN,
      });
      await tx.flush();
      await this.audit.record(tx, p, {
        organisationId: org.id,
        type: AuditObjectType.ORGANISATION,
        objectId: org.id,
        objectUuid: org.uuid,
        change: ChangeType.CREATE,
        log: `New organisation created: ${org.name}`,
        after: { name: org.name },
      });
      return org;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    org: Organisation,
    input: UpdateOrganisationInput,
  ): Promise<Organisation> {
    guardOwnAccess(p, input);
    return em.transactional(async (tx) => {
      const before = snapshot(org);
      if (input.name !== undefined) org.name = input.name.trim();
      if (input.webhookNotificationEmail !== undefined)
        org.webhookNotificationEmail = input.webhookNotificationEmail;
      for (const key of [
        'restrictProjectCreateToAdmin',
        'persistTraitData',
        'stopServingFlags',
        'featureAnalytics',
        'force2fa',
      ] as const) {
        const value = input[key];
        if (value === null) throw new ValidationError(`input.${key}`, 'must not be null');
        if (value !== undefined) org[key] = value;
      }
      if (input.allowedLoginMethods !== undefined) {
        org.allowedLoginMethods = [...new Set(input.allowedLoginMethods ?? [])].sort();
      }

      await this.audit.record(tx, p, {
        organisationId: org.id,
        type: AuditObjectType.ORGANISATION,
        objectId: org.id,
        objectUuid: org.uuid,
        change: ChangeType.UPDATE,
        log: `Organisation updated: ${org.name}`,
        before,
        after: snapshot(org),
      });
      await tx.flush();
      // Organisation settings travel in every environment's document.
      touchEnvironments(tx, { organisationId: org.id });
      return org;
    });
  }

  async delete(em: EntityManager, p: PermissionService, org: Organisation): Promise<void> {
    await em.transactional(async (tx) => {
      await this.audit.record(tx, p, {
        organisationId: null,
        type: AuditObjectType.ORGANISATION,
        objectId: org.id,
        objectUuid: org.uuid,
        change: ChangeType.DELETE,
        log: `Organisation deleted: ${org.name}`,
        before: snapshot(org),
      });
      await environmentsChanged(tx, { organisationId: org.id });
      tx.remove(org);
      await tx.flush();
    });
  }

  /** A page of an organisation's members. */
  members(
    em: EntityManager,
    org: Organisation,
    args: UserListArgs,
  ): Promise<Page<OrganisationMembership>> {
    const where: FilterQuery<OrganisationMembership>[] = [
      { organisation: org.id },
      ...userConditions<OrganisationMembership>(args.filter, (user) => ({ user })),
    ];
    return orderedPage(em, OrganisationMembership, where, args, args.orderBy, MEMBER_KEYS, {
      populate: ['user'],
    });
  }

  async addMember(
    em: EntityManager,
    p: PermissionService,
    org: Organisation,
    input: AddMemberInput,
  ): Promise<OrganisationMembership> {
    return em.transactional(async (tx) => {
      const user = await this.users.findByEmail(tx, input.email);
      if (!user) throw new ValidationError('input.email', 'no user has this email address');
      if (await tx.count(OrganisationMembership, { organisation: org, user })) {
        throw new ConflictError('this user is already a member', 'input.email');
      }
      const membership = tx.create(OrganisationMembership, {
        organisation: org,
        user,
        role: input.role,
      });
      // New members join the organisation's default groups.
      const defaults = await tx.find(
        UserGroup,
        { organisation: org, isDefault: true },
        { orderBy: { id: 'asc' } },
      );
      for (const group of defaults) tx.create(UserGroupMembership, { group, user });
      await tx.flush();
      await this.audit.record(tx, p, {
        organisationId: org.id,
        type: AuditObjectType.USER,
        objectId: user.id,
        change: ChangeType.CREATE,
        log: `User ${user.email} added to organisation ${org.name} as ${input.role}`,
        after: {
          role: input.role,
          ...(defaults.length > 0 && { defaultGroups: defaults.map((g) => g.id) }),
        },
      });
      return membership;
    });
  }

  async updateMember(
    em: EntityManager,
    p: PermissionService,
    org: Organisation,
    input: UpdateMemberInput,
  ): Promise<OrganisationMembership> {
    const userId = parseId(input.userId, 'input.userId');
    return em.transactional(async (tx) => {
      const membership = await tx.findOne(
        OrganisationMembership,
        { organisation: org, user: userId },
        { populate: ['user'] },
      );
      if (!membership) throw new ValidationError('input.userId', `no member with id ${userId}`);
      const before = membership.role;
      if (before === OrganisationRole.ADMIN && input.role !== OrganisationRole.ADMIN)
        await this.keepOneAdmin(tx, org);
      membership.role = input.role;
      await this.audit.record(tx, p, {
        organisationId: org.id,
        type: AuditObjectType.USER,
        objectId: userId,
        change: ChangeType.UPDATE,
        log: `Role of ${membership.user.email} in ${org.name} changed from ${before} to ${input.role}`,
        before: { role: before },
        after: { role: input.role },
      });
      await tx.flush();
      return membership;
    });
  }

  async removeMember(
    em: EntityManager,
    p: PermissionService,
    org: Organisation,
    rawUserId: string,
  ): Promise<void> {
    const userId = parseId(rawUserId, 'userId');
    await em.transactional(async (tx) => {
      const membership = await tx.findOne(
        OrganisationMembership,
        { organisation: org, user: userId },
        { populate: ['user'] },
      );
      if (!membership) throw new ValidationError('userId', `no member with id ${userId}`);
      if (membership.role === OrganisationRole.ADMIN) await this.keepOneAdmin(tx, org);
      await this.audit.record(tx, p, {
        organisationId: org.id,
        type: AuditObjectType.USER,
        objectId: userId,
        change: ChangeType.DELETE,
        log: `User ${membership.user.email} removed from organisation ${org.name}`,
        before: { role: membership.role },
      });
      tx.remove(membership);
      await tx.flush();
    });
  }

  private async keepOneAdmin(tx: EntityManager, org: Organisation): Promise<void> {
    const admins = await tx.count(OrganisationMembership, {
      organisation: org,
      role: OrganisationRole.ADMIN,
    });
    if (admins <= 1) throw new ConflictError('an organisation must keep at least one ADMIN');
  }
}

function snapshot(org: Organisation): Record<string, unknown> {
  return {
    name: org.name,
    webhookNotificationEmail: org.webhookNotificationEmail ?? null,
    restrictProjectCreateToAdmin: org.restrictProjectCreateToAdmin,
    persistTraitData: org.persistTraitData,
    stopServingFlags: org.stopServingFlags,
    featureAnalytics: org.featureAnalytics,
    force2fa: org.force2fa,
    allowedLoginMethods: [...org.allowedLoginMethods],
  };
}

/**
 * A user may not set rules that would shut themselves out at once: requiring two-factor
 * sign-in while their own is off, or leaving out the method their own session was opened
 * with. (An organisation API key is not bound by either.)
 */
function guardOwnAccess(p: PermissionService, input: UpdateOrganisationInput): void {
  const principal = p.principal;
  if (principal.kind !== 'user') return;
  if (input.force2fa === true && !principal.user.twoFactorEnabled) {
    throw new ForbiddenError(
      'input.force2fa: turn on your own two-factor sign-in before requiring it of members',
      { field: 'input.force2fa', reason: 'TWO_FACTOR_REQUIRED' },
    );
  }
  const allowed = input.allowedLoginMethods ?? [];
  if (allowed.length && !allowed.includes(principal.session.method)) {
    throw new ForbiddenError(
      `input.allowedLoginMethods: leaving out ${principal.session.method} would end your own session; sign in with an allowed method first`,
      { field: 'input.allowedLoginMethods', reason: 'LOGIN_METHOD_NOT_ALLOWED' },
    );
  }
}
