import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import { OrganisationMembership } from '../organisations/membership.entity';
import { Organisation } from '../organisations/organisation.entity';
import { findVisible } from '../permissions/find-visible';
import type { PermissionKey } from '../permissions/keys';
import { PermissionGrant } from '../permissions/permission-grant.entity';
import type { PermissionService, ScopeRef } from '../permissions/permission.service';
import { RoleAssignment } from '../roles/role.entity';
import { ConflictError, ForbiddenError, ValidationError } from '../shared/errors';
import { orderedPage, type Page } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import { membershipKeys, type UserListArgs, userConditions } from '../users/user-list';
import { User } from '../users/user.entity';
import type { CreateGroupInput, UpdateGroupInput } from './group.inputs';
import { UserGroup, UserGroupMembership } from './user-group.entity';

/**
 * Organisation groups and their members. Organisation admins create, change and delete
 * groups; membership is also managed by holders of MANAGE_USER_GROUPS and by the group's
 * own group admins — but none of these may hand out, through a group, grants they do not
 * hold themselves. Instance groups (no organisation: model permissions) are out of reach.
 */
const MEMBER_KEYS = membershipKeys<UserGroupMembership>();

export class GroupService {
  constructor(private readonly audit: AuditService) {}

  /** A group of an organisation the caller belongs to; NOT_FOUND otherwise. */
  find(em: EntityManager, p: PermissionService, rawId: unknown, field: string): Promise<UserGroup> {
    return findVisible(em, p, UserGroup, rawId, field, 'ORGANISATION_MEMBER', 'group', {
      organisation: { $ne: null },
    });
  }

  /** A page of an organisation's groups. */
  list(em: EntityManager, organisationId: number, args: NamedListArgs): Promise<Page<UserGroup>> {
    return namedPage(em, UserGroup, [{ organisation: organisationId }], args);
  }

  /** A page of a group's members. */
  members(
    em: EntityManager,
    group: UserGroup,
    args: UserListArgs,
  ): Promise<Page<UserGroupMembership>> {
    const where: FilterQuery<UserGroupMembership>[] = [
      { group: group.id },
      ...userConditions<UserGroupMembership>(args.filter, (user) => ({ user })),
    ];
    return orderedPage(em, UserGroupMembership, where, args, args.orderBy, MEMBER_KEYS, {
      populate: ['user'],
    });
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    input: CreateGroupInput,
  ): Promise<UserGroup> {
    const org = await findVisible(
      em,
      p,
      Organisation,
      input.organisationId,
      'input.organisationId',
      'ORGANISATION_MEMBER',
      'organisation',
    );
    await p.assert('ORGANISATION_ADMIN', org);
    const name = input.name.trim();
    return em.transactional(async (tx) => {
      await this.uniqueName(tx, org.id, name);
      const group = tx.create(UserGroup, {
        organisation: org.id,
        name,
        isDefault: input.isDefault,
        externalId: input.externalId?.trim() || null,
      });
      await tx.flush();
      await this.record(
        tx,
        p,
        group,
        ChangeType.CREATE,
        `Group created: ${name}`,
        null,
        describe(group),
      );
      return group;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    group: UserGroup,
    input: UpdateGroupInput,
  ): Promise<UserGroup> {
    await p.assert('ORGANISATION_ADMIN', group);
    if (input.isDefault === null) throw new ValidationError('input.isDefault', 'must not be null');
    return em.transactional(async (tx) => {
      const before = describe(group);
      if (input.name != null) {
        const name = input.name.trim();
        if (name !== group.name) await this.uniqueName(tx, group.organisation!.id, name);
        group.name = name;
      }
      if (input.isDefault !== undefined) group.isDefault = input.isDefault;
      if (input.externalId !== undefined) group.externalId = input.externalId?.trim() || null;
      await tx.flush();
      await this.record(
        tx,
        p,
        group,
        ChangeType.UPDATE,
        `Group updated: ${group.name}`,
        before,
        describe(group),
      );
      return group;
    });
  }

  /** Deletes a group with its memberships, grants and role assignments. */
  async delete(em: EntityManager, p: PermissionService, group: UserGroup): Promise<string> {
    await p.assert('ORGANISATION_ADMIN', group);
    return em.transactional(async (tx) => {
      await this.record(
        tx,
        p,
        group,
        ChangeType.DELETE,
        `Group deleted: ${group.name}`,
        describe(group),
        null,
      );
      await tx.nativeDelete(UserGroup, { id: group.id });
      return String(group.id);
    });
  }

  /**
   * Adds organisation members to a group (existing members stay, with `groupAdmin` updated
   * when it is given).
   */
  async addMembers(
    em: EntityManager,
    p: PermissionService,
    group: UserGroup,
    rawUserIds: readonly string[],
    groupAdmin: boolean | null | undefined,
  ): Promise<UserGroup> {
    await this.assertManages(em, p, group);
    const userIds = await this.organisationMembers(em, group, rawUserIds, 'userIds');
    await this.assertHoldsGroupGrants(em, p, group);
    return em.transactional(async (tx) => {
      const existing = await tx.find(UserGroupMembership, {
        group: group.id,
        user: { $in: userIds },
      });
      const byUser = new Map(existing.map((m) => [m.user.id, m]));
      const added: number[] = [];
      const changed: number[] = [];
      for (const userId of userIds) {
        const row = byUser.get(userId);
        if (!row) {
          tx.create(UserGroupMembership, {
            group: group.id,
            user: userId,
            groupAdmin: !!groupAdmin,
          });
          added.push(userId);
        } else if (groupAdmin != null && row.groupAdmin !== groupAdmin) {
          row.groupAdmin = groupAdmin;
          changed.push(userId);
        }
      }
      if (added.length === 0 && changed.length === 0) return group;
      await tx.flush();
      const emails = await emailsOf(tx, [...added, ...changed]);
      await this.record(
        tx,
        p,
        group,
        ChangeType.UPDATE,
        `Members of group ${group.name} ${added.length ? 'added' : 'changed'}: ${emails.join(', ')}`,
        null,
        { added, changed, groupAdmin: groupAdmin ?? null },
      );
      return group;
    });
  }

  async removeMembers(
    em: EntityManager,
    p: PermissionService,
    group: UserGroup,
    rawUserIds: readonly string[],
  ): Promise<UserGroup> {
    await this.assertManages(em, p, group);
    if (rawUserIds.length === 0) throw new ValidationError('userIds', 'name at least one user');
    const userIds = [...new Set(rawUserIds.map((id, i) => parseId(id, `userIds.${i}`)))];
    return em.transactional(async (tx) => {
      const rows = await tx.find(UserGroupMembership, { group: group.id, user: { $in: userIds } });
      if (rows.length === 0) return group;
      const removed = rows.map((m) => m.user.id);
      const emails = await emailsOf(tx, removed);
      await this.record(
        tx,
        p,
        group,
        ChangeType.UPDATE,
        `Members removed from group ${group.name}: ${emails.join(', ')}`,
        { members: removed },
        null,
      );
      await tx.nativeDelete(UserGroupMembership, { id: { $in: rows.map((m) => m.id) } });
      return group;
    });
  }

  /** Organisation ADMIN, MANAGE_USER_GROUPS, or a group admin of this group. */
  private async assertManages(
    em: EntityManager,
    p: PermissionService,
    group: UserGroup,
  ): Promise<void> {
    if (await p.can('ORGANISATION_ADMIN', group)) return;
    if (await p.can('MANAGE_USER_GROUPS', group)) return;
    const userId = p.userId;
    if (
      userId !== undefined &&
      (await em.count(UserGroupMembership, { group: group.id, user: userId, groupAdmin: true })) > 0
    )
      return;
    throw new ForbiddenError(
      'You need MANAGE_USER_GROUPS, or to be an admin of this group, to change its members',
      { permission: 'MANAGE_USER_GROUPS' },
    );
  }

  /**
   * Whoever adds people to a group gives them the group's grants (its own and its roles'):
   * short of organisation ADMIN, they must hold each of those themselves.
   */
  private async assertHoldsGroupGrants(
    em: EntityManager,
    p: PermissionService,
    group: UserGroup,
  ): Promise<void> {
    if (await p.can('ORGANISATION_ADMIN', group)) return;
    const organisationId = group.organisation!.id;
    const roleIds = (await em.find(RoleAssignment, { group: group.id }, { fields: ['role'] })).map(
      (a) => a.role.id,
    );
    const grants = await em.find(PermissionGrant, {
      organisation: organisationId,
      $or: [{ group: group.id }, { role: { $in: roleIds } }],
    });
    for (const g of grants) {
      const ref: ScopeRef = {
        organisationId,
        ...(g.project && { projectId: g.project.id }),
        ...(g.environment && { environmentId: g.environment.id }),
      };
      const needed: PermissionKey[] = [...g.keys];
      if (g.admin)
        needed.push(
          g.environment ? 'ENVIRONMENT_ADMIN' : g.project ? 'PROJECT_ADMIN' : 'ORGANISATION_ADMIN',
        );
      for (const key of needed) {
        if (!(await p.can(key, ref)))
          throw new ForbiddenError(
            `Members of this group hold ${key}${ref.environmentId ? ` on environment ${ref.environmentId}` : ref.projectId ? ` on project ${ref.projectId}` : ''}, which you do not: you cannot give it to others`,
            { permission: key },
          );
      }
    }
  }

  /** Parses user ids and checks each belongs to the group's organisation. */
  private async organisationMembers(
    em: EntityManager,
    group: UserGroup,
    rawUserIds: readonly string[],
    field: string,
  ): Promise<number[]> {
    if (rawUserIds.length === 0) throw new ValidationError(field, 'name at least one user');
    const ids = rawUserIds.map((id, i) => parseId(id, `${field}.${i}`));
    const members = await em.find(
      OrganisationMembership,
      { organisation: group.organisation!.id, user: { $in: ids } },
      { fields: ['user'] },
    );
    const found = new Set(members.map((m) => m.user.id));
    const stray = ids.findIndex((id) => !found.has(id));
    if (stray >= 0)
      throw new ValidationError(
        `${field}.${stray}`,
        `no member of this organisation with id ${ids[stray]}`,
      );
    return [...new Set(ids)];
  }

  private async uniqueName(tx: EntityManager, organisationId: number, name: string): Promise<void> {
    if (await tx.count(UserGroup, { organisation: organisationId, name }))
      throw new ConflictError('a group with this name already exists', 'input.name');
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    group: UserGroup,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      organisationId: group.organisation!.id,
      type: AuditObjectType.PERMISSION,
      objectId: group.id,
      change,
      log,
      before,
      after,
    });
  }
}

function describe(g: UserGroup): Record<string, unknown> {
  return { group: g.id, name: g.name, isDefault: g.isDefault, externalId: g.externalId ?? null };
}

async function emailsOf(tx: EntityManager, userIds: readonly number[]): Promise<string[]> {
  const users = await tx.find(User, { id: { $in: [...userIds] } }, { orderBy: { id: 'asc' } });
  return users.map((u) => u.email);
}
