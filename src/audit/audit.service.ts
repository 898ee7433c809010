import type { EntityManager } from '@mikro-orm/core';
import type { PermissionService } from '../permissions/permission.service';
import { AuditLog, AuditObjectType, ChangeType } from './audit-log.entity';

export interface AuditEntry {
  readonly organisationId: number | null;
  readonly projectId?: number | null;
  readonly environmentId?: number | null;
  readonly type: AuditObjectType;
  readonly objectId: number | string;
  readonly objectUuid?: string | null;
  readonly change: ChangeType;
  readonly log: string;
  readonly before?: Record<string, unknown> | null;
  readonly after?: Record<string, unknown> | null;
}

/**
 * Writes audit records inside the caller's transaction (pass the transactional
 * EntityManager), so a change and its record commit or roll back together.
 */
export class AuditService {
  record(tx: EntityManager, actor: PermissionService, entry: AuditEntry): AuditLog {
    const log = tx.create(AuditLog, {
      organisation: entry.organisationId,
      project: entry.projectId ?? null,
      environment: entry.environmentId ?? null,
      author: actor.userId ?? null,
      relatedObjectType: entry.type,
      relatedObjectId: String(entry.objectId),
      relatedObjectUuid: entry.objectUuid ?? null,
      changeType: entry.change,
      log: entry.log,
      before: entry.before ?? null,
      after: entry.after ?? null,
    });
    tx.persist(log);
    return log;
  }
}

export { AuditObjectType, ChangeType };

/** The organisation/project(/environment) fields of an audit entry for records in a project. */
export function auditScope(
  project: { readonly id: number; readonly organisation: { readonly id: number } },
  environment?: { readonly id: number },
): Pick<AuditEntry, 'organisationId' | 'projectId' | 'environmentId'> {
  return {
    organisationId: project.organisation.id,
    projectId: project.id,
    ...(environment && { environmentId: environment.id }),
  };
}
