import type { EntityManager } from '@mikro-orm/core';
import { type AuditService, ChangeType } from '../audit/audit.service';
import type { PermissionService } from '../permissions/permission.service';
import { ForbiddenError, NotFoundError, ValidationError } from '../shared/errors';
import type { SessionService } from './session.service';
import { userChange } from './user-audit';
import { User } from './user.entity';

export interface UserChanges {
  readonly firstName?: string | null;
  readonly lastName?: string | null;
  readonly isActive?: boolean | null;
  readonly isStaff?: boolean | null;
  readonly isSuperuser?: boolean | null;
}

const snapshot = (u: User) => ({
  firstName: u.firstName,
  lastName: u.lastName,
  isActive: u.isActive,
  isStaff: u.isStaff,
  isSuperuser: u.isSuperuser,
});

/** Changing other users' accounts (the admin site's "Users"; `change_user`). */
export class UserAdminService {
  constructor(
    private readonly audit: AuditService,
    private readonly sessions: SessionService,
  ) {}

  async update(
    em: EntityManager,
    p: PermissionService,
    userId: number,
    input: UserChanges,
  ): Promise<User> {
    // isStaff and isSuperuser are @WritableBy superusers only (UpdateUserInput).
    for (const field of ['isActive', 'isStaff', 'isSuperuser'] as const) {
      if (input[field] === null) throw new ValidationError(`input.${field}`, 'must not be null');
    }
    if (userId === p.userId && (input.isActive === false || input.isSuperuser === false)) {
      throw new ForbiddenError('You cannot deactivate or demote your own account', {
        field: input.isActive === false ? 'input.isActive' : 'input.isSuperuser',
      });
    }
    return em.transactional(async (tx) => {
      const user = await tx.findOne(User, userId);
      if (!user) throw new NotFoundError('User', 'id');
      const before = snapshot(user);
      if (input.firstName != null) user.firstName = input.firstName.trim();
      if (input.lastName != null) user.lastName = input.lastName.trim();
      if (input.isActive != null) user.isActive = input.isActive;
      if (input.isStaff != null) user.isStaff = input.isStaff;
      if (input.isSuperuser != null) user.isSuperuser = input.isSuperuser;
      await tx.flush();
      // A deactivated account is signed out everywhere.
      if (before.isActive && !user.isActive) await this.sessions.revokeAll(tx, user.id);
      await this.audit.record(tx, p, {
        ...userChange(user, ChangeType.UPDATE, 'User updated', snapshot(user)),
        before,
      });
      return user;
    });
  }
}
