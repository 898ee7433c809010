import type { EntityManager } from '@mikro-orm/core';
import { organisationHolder } from '../permissions/holders';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import { Organisation } from '../organisations/organisation.entity';
import { findVisible } from '../permissions/find-visible';
import { PermissionGrantView } from '../permissions/grant.inputs';
import { PermissionGrant } from '../permissions/permission-grant.entity';
import type { PermissionService } from '../permissions/permission.service';
import type { Page } from '../shared/cursor';
import { ConflictError } from '../shared/errors';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import type { CreateRoleInput, RoleHolder, UpdateRoleInput } from './role.inputs';
import { Role, RoleAssignment } from './role.entity';

/**
 * Roles (named sets of grants) and who holds them: users, groups and non-admin organisation
 * API keys of the role's organisation. Organisation admins only.
 */
export class RoleService {
  constructor(private readonly audit: AuditService) {}

  /** A role of an organisation the caller belongs to (NOT_FOUND otherwise). */
  find(em: EntityManager, p: PermissionService, rawId: unknown, field: string): Promise<Role> {
    return findVisible(em, p, Role, rawId, field, 'ORGANISATION_MEMBER', 'role');
  }

  /** As `find`, then FORBIDDEN unless the caller is an admin of the role's organisation. */
  async findManaged(
    em: EntityManager,
    p: PermissionService,
    rawId: unknown,
    field: string,
  ): Promise<Role> {
    const role = await this.find(em, p, rawId, field);
    await p.assert('ORGANISATION_ADMIN', role);
    return role;
  }

  /** A page of an organisation's roles. */
  list(em: EntityManager, organisationId: number, args: NamedListArgs): Promise<Page<Role>> {
    return namedPage(em, Role, [{ organisation: organisationId }], args);
  }

  async grants(em: EntityManager, role: Role): Promise<PermissionGrantView[]> {
    const rows = await em.find(PermissionGrant, { role: role.id }, { orderBy: { id: 'asc' } });
    return rows.map((g) => PermissionGrantView.of(g));
  }

  assignments(em: EntityManager, role: Role): Promise<RoleAssignment[]> {
    return em.find(RoleAssignment, { role: role.id }, { orderBy: { id: 'asc' } });
  }

  async create(em: EntityManager, p: PermissionService, input: CreateRoleInput): Promise<Role> {
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
      await uniqueName(tx, org.id, name);
      const role = tx.create(Role, {
        organisation: org.id,
        name,
        description: input.description?.trim() || null,
      });
      await tx.flush();
      await this.record(
        tx,
        p,
        role,
        ChangeType.CREATE,
        `Role created: ${name}`,
        null,
        describe(role),
      );
      return role;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    role: Role,
    input: UpdateRoleInput,
  ): Promise<Role> {
    return em.transactional(async (tx) => {
      const before = describe(role);
      if (input.name != null) {
        const name = input.name.trim();
        if (name !== role.name) await uniqueName(tx, role.organisation.id, name);
        role.name = name;
      }
      if (input.description !== undefined) role.description = input.description?.trim() || null;
      await tx.flush();
      await this.record(
        tx,
        p,
        role,
        ChangeType.UPDATE,
        `Role updated: ${role.name}`,
        before,
        describe(role),
      );
      return role;
    });
  }

  /** Deletes a role with its grants and assignments. */
  async delete(em: EntityManager, p: PermissionService, role: Role): Promise<string> {
    return em.transactional(async (tx) => {
      await this.record(
        tx,
        p,
        role,
        ChangeType.DELETE,
        `Role deleted: ${role.name}`,
        describe(role),
        null,
      );
      await tx.nativeDelete(Role, { id: role.id });
      return String(role.id);
    });
  }

  /** Gives the role to a user, group or API key of its organisation (no change if it has it). */
  async assign(
    em: EntityManager,
    p: PermissionService,
    role: Role,
    holder: RoleHolder,
    field: string,
  ): Promise<Role> {
    const who = await organisationHolder(em, role.organisation.id, holder, field);
    return em.transactional(async (tx) => {
      if (await tx.count(RoleAssignment, { role: role.id, ...holderWhere(holder) })) return role;
      const assignment = tx.create(RoleAssignment, { role: role.id, ...holderWhere(holder) });
      await tx.flush();
      await this.record(
        tx,
        p,
        role,
        ChangeType.UPDATE,
        `Role ${role.name} assigned to ${who}`,
        null,
        { assignment: assignment.id, [holder.kind]: holder.id },
      );
      return role;
    });
  }

  /** Takes the role back from a user, group or API key (no change if it does not have it). */
  async unassign(
    em: EntityManager,
    p: PermissionService,
    role: Role,
    holder: RoleHolder,
  ): Promise<Role> {
    return em.transactional(async (tx) => {
      const rows = await tx.find(RoleAssignment, { role: role.id, ...holderWhere(holder) });
      if (rows.length === 0) return role;
      await this.record(
        tx,
        p,
        role,
        ChangeType.UPDATE,
        `Role ${role.name} unassigned from ${holder.kind} ${holder.id}`,
        { [holder.kind]: holder.id },
        null,
      );
      await tx.nativeDelete(RoleAssignment, { id: { $in: rows.map((r) => r.id) } });
      return role;
    });
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    role: Role,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      organisationId: role.organisation.id,
      type: AuditObjectType.PERMISSION,
      objectId: role.id,
      change,
      log,
      before,
      after,
    });
  }
}

function holderWhere(
  holder: RoleHolder,
): { user: number } | { group: number } | { apiKey: number } {
  switch (holder.kind) {
    case 'user':
      return { user: holder.id };
    case 'group':
      return { group: holder.id };
    case 'apiKey':
      return { apiKey: holder.id };
  }
}

async function uniqueName(tx: EntityManager, organisationId: number, name: string): Promise<void> {
  if (await tx.count(Role, { organisation: organisationId, name }))
    throw new ConflictError('a role with this name already exists', 'input.name');
}

function describe(r: Role): Record<string, unknown> {
  return { role: r.id, name: r.name, description: r.description ?? null };
}
