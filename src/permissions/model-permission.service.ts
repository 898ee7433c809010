import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import { UserGroup, UserGroupMembership } from '../groups/user-group.entity';
import { ForbiddenError, NotFoundError, ValidationError } from '../shared/errors';
import { userChange } from '../users/user-audit';
import { User } from '../users/user.entity';
import {
  ADMIN_MODELS,
  ALL_MODEL_CODENAMES,
  type AdminModel,
  isModelCodename,
  MODEL_ACTIONS,
  type ModelAction,
  type ModelCodename,
} from './keys';
import { ModelPermissionGrant } from './permission-grant.entity';
import type { PermissionService } from './permission.service';

/** What the caller may do with one kind of instance-wide record. */
export interface ModelAccess {
  readonly model: AdminModel;
  readonly actions: readonly ModelAction[];
}

/** Who receives a model permission: a user, or an instance-wide group. */
export type ModelPermissionHolder =
  { readonly kind: 'user'; readonly id: number } | { readonly kind: 'group'; readonly id: number };

/**
 * Django-style model permissions (`view_user`, `change_organisation`, …) on users and
 * instance-wide groups. Granting and revoking them needs `change_user` (for a user) or
 * `change_usergroup` (for a group), and nobody grants or revokes a codename they do not hold
 * themselves (superusers hold all).
 */
export class ModelPermissionService {
  constructor(private readonly audit: AuditService) {}

  /** The kinds of record the caller may see or manage, with the actions (module visibility). */
  async visibleModels(p: PermissionService): Promise<ModelAccess[]> {
    const out: ModelAccess[] = [];
    for (const model of ADMIN_MODELS) {
      const actions: ModelAction[] = [];
      for (const action of MODEL_ACTIONS) {
        if (await p.hasModelPermission(`${action}_${model}`)) actions.push(action);
      }
      if (actions.length) out.push({ model, actions });
    }
    return out;
  }

  /** The codenames a user holds directly and through instance-wide groups. */
  async codenamesOf(em: EntityManager, userId: number): Promise<string[]> {
    const user = await em.findOne(User, userId);
    if (!user) throw new NotFoundError('User', 'userId');
    if (user.isSuperuser && user.isActive) return [...ALL_MODEL_CODENAMES];
    const groups = await em.find(
      UserGroupMembership,
      { user: userId, group: { organisation: null } },
      { fields: ['group'] },
    );
    const rows = await em.find(ModelPermissionGrant, {
      $or: [{ user: userId }, { group: { $in: groups.map((g) => g.group.id) } }],
    });
    return [...new Set(rows.map((r) => r.codename))].sort();
  }

  async grant(
    em: EntityManager,
    p: PermissionService,
    holder: ModelPermissionHolder,
    codename: string,
  ): Promise<void> {
    await this.change(em, p, holder, codename, 'grant');
  }

  async revoke(
    em: EntityManager,
    p: PermissionService,
    holder: ModelPermissionHolder,
    codename: string,
  ): Promise<void> {
    await this.change(em, p, holder, codename, 'revoke');
  }

  private async change(
    em: EntityManager,
    p: PermissionService,
    holder: ModelPermissionHolder,
    codename: string,
    how: 'grant' | 'revoke',
  ): Promise<void> {
    if (!isModelCodename(codename)) {
      throw new ValidationError('input.codename', `is not a model permission: ${codename}`);
    }
    const needed: ModelCodename = holder.kind === 'user' ? 'change_user' : 'change_usergroup';
    if (!(await p.hasModelPermission(needed))) {
      throw new ForbiddenError(`You need ${needed} for this`, { permission: needed });
    }
    if (!(await p.hasModelPermission(codename))) {
      throw new ForbiddenError(`You can only ${how} model permissions you hold: ${codename}`, {
        permission: codename,
        field: 'input.codename',
      });
    }
    await em.transactional(async (tx) => {
      const where =
        holder.kind === 'user' ? { user: holder.id, codename } : { group: holder.id, codename };
      const subject = await this.subject(tx, holder);
      const existing = await tx.count(ModelPermissionGrant, where);
      if (how === 'grant' && existing === 0) {
        tx.create(ModelPermissionGrant, where);
        await tx.flush();
      }
      if (how === 'revoke') await tx.nativeDelete(ModelPermissionGrant, where);
      const verb = how === 'grant' ? 'granted' : 'revoked';
      await this.audit.record(
        tx,
        p,
        subject instanceof User
          ? userChange(subject, ChangeType.UPDATE, `Model permission ${codename} ${verb}`, {
              modelPermission: codename,
              [verb]: true,
            })
          : {
              organisationId: null,
              type: AuditObjectType.PERMISSION,
              objectId: subject.id,
              objectUuid: null,
              change: ChangeType.UPDATE,
              log: `Model permission ${codename} ${verb}: group ${subject.name}`,
              after: { modelPermission: codename, [verb]: true },
            },
      );
    });
  }

  private async subject(
    em: EntityManager,
    holder: ModelPermissionHolder,
  ): Promise<User | UserGroup> {
    if (holder.kind === 'user') {
      const user = await em.findOne(User, holder.id);
      if (!user) throw new NotFoundError('User', 'input.userId');
      return user;
    }
    const group = await em.findOne(UserGroup, holder.id);
    // Model permissions count through instance-wide groups only.
    if (!group || group.organisation) throw new NotFoundError('Instance group', 'input.groupId');
    return group;
  }
}
