import type { EntityManager } from '@mikro-orm/core';
import {
  type AuditEntry,
  AuditObjectType,
  type AuditService,
  ChangeType,
} from '../audit/audit.service';
import type { PermissionService } from '../permissions/permission.service';
import type { SessionService } from './session.service';
import type { User } from './user.entity';
import type { UserService } from './user.service';

/** The audit entry of a change to a user account (which belongs to no organisation). */
export function userChange(
  user: User,
  change: ChangeType,
  what: string,
  after: Record<string, unknown>,
  authorId?: number,
): AuditEntry {
  return {
    organisationId: null,
    type: AuditObjectType.USER,
    objectId: user.id,
    objectUuid: user.uuid,
    change,
    log: `${what}: ${user.email}`,
    after,
    ...(authorId !== undefined && { authorId }),
  };
}

/**
 * Sets a user's password in the caller's transaction, ends the account's sessions (all, or
 * all but `keepSession`, a stored session hash) and records it, never the password itself.
 */
export async function replacePassword(
  tx: EntityManager,
  deps: {
    readonly users: UserService;
    readonly sessions: SessionService;
    readonly audit: AuditService;
  },
  actor: PermissionService,
  user: User,
  password: string,
  how: { readonly what: string; readonly keepSession?: string; readonly authorId?: number },
): Promise<void> {
  await deps.users.setPassword(tx, user, password);
  await deps.sessions.revokeAll(tx, user.id, how.keepSession);
  const sessions = how.keepSession === undefined ? 'ended' : 'others ended';
  await deps.audit.record(
    tx,
    actor,
    userChange(user, ChangeType.UPDATE, how.what, { password: 'changed', sessions }, how.authorId),
  );
}
