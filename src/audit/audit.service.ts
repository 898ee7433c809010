import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { ID_KEYS, orderedPage, type Page } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import { containsText } from '../shared/search';
import { AuditLog, AuditObjectType, ChangeType } from './audit-log.entity';
import type { WebhookOutbox } from '../webhooks/outbox';
import type { AuditLogFilter, AuditLogsArgs, InstanceAuditLogsArgs } from './audit.inputs';

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
  /**
   * Who made the change when it is not the request's principal: e.g. the owner of an
   * account resetting its password through a mailed link, without signing in.
   */
  readonly authorId?: number;
}

/**
 * Writes audit records inside the caller's transaction (pass the transactional
 * EntityManager), so a change and its record commit or roll back together — and with them
 * the AUDIT_LOG_CREATED deliveries to the organisation's webhooks.
 */
export class AuditService {
  constructor(private readonly outbox: WebhookOutbox) {}

  async record(tx: EntityManager, actor: PermissionService, entry: AuditEntry): Promise<AuditLog> {
    if (!tx.isInTransaction())
      throw new Error('audit records must be written inside a transaction');
    const log = tx.create(AuditLog, {
      organisation: entry.organisationId,
      project: entry.projectId ?? null,
      environment: entry.environmentId ?? null,
      author: entry.authorId ?? actor.userId ?? null,
      apiKey: actor.apiKeyId ?? null,
      relatedObjectType: entry.type,
      relatedObjectId: String(entry.objectId),
      relatedObjectUuid: entry.objectUuid ?? null,
      changeType: entry.change,
      log: entry.log,
      before: entry.before ?? null,
      after: entry.after ?? null,
    });
    tx.persist(log);
    // Flagsmith sends audit-log webhooks for records with a project or an environment.
    if (entry.organisationId !== null && (entry.projectId != null || entry.environmentId != null))
      await this.outbox.auditLogCreated(tx, actor, log, entry.organisationId);
    return log;
  }

  /**
   * A page of an organisation's audit log, newest first, holding only records the caller
   * may read: every record of the organisation for its admins (and superusers); for other
   * members, the records of projects where they hold VIEW_AUDIT_LOG (never records without
   * a project). `totalCount` counts everything visible that matches the filter.
   */
  async list(
    em: EntityManager,
    p: PermissionService,
    organisationId: number,
    args: AuditLogsArgs,
  ): Promise<Page<AuditLog>> {
    const where: FilterQuery<AuditLog>[] = [
      { organisation: organisationId },
      ...(await this.visibility(em, p, organisationId)),
      ...filterConditions(args.filter),
    ];
    return orderedPage(em, AuditLog, where, args, args.orderBy, ID_KEYS, {
      populate: ['author', 'apiKey'],
    });
  }

  /** Every record of the instance (organisation-less ones too), for holders of view_auditlog. */
  async listAll(em: EntityManager, args: InstanceAuditLogsArgs): Promise<Page<AuditLog>> {
    return orderedPage(em, AuditLog, filterConditions(args.filter), args, args.orderBy, ID_KEYS, {
      populate: ['author', 'apiKey'],
    });
  }

  private async visibility(
    em: EntityManager,
    p: PermissionService,
    organisationId: number,
  ): Promise<FilterQuery<AuditLog>[]> {
    if (await p.can('ORGANISATION_ADMIN', { organisationId })) return [];
    const projects = await em.find(
      Project,
      { $and: [{ organisation: organisationId }, await p.filter('VIEW_AUDIT_LOG', Project)] },
      { fields: ['id'] },
    );
    return [{ project: { $in: projects.map((project) => project.id) } }];
  }
}

/** The filter's conditions; `since` is inclusive, `until` exclusive. */
function filterConditions(f: AuditLogFilter | null | undefined): FilterQuery<AuditLog>[] {
  if (!f) return [];
  const where: FilterQuery<AuditLog>[] = [];
  if (f.projectId != null) where.push({ project: parseId(f.projectId, 'filter.projectId') });
  if (f.environmentId != null)
    where.push({ environment: parseId(f.environmentId, 'filter.environmentId') });
  if (f.relatedObjectType != null) where.push({ relatedObjectType: f.relatedObjectType });
  if (f.authorId != null) where.push({ author: parseId(f.authorId, 'filter.authorId') });
  if (f.since != null) where.push({ createdAt: { $gte: f.since } });
  if (f.until != null) where.push({ createdAt: { $lt: f.until } });
  if (f.search) where.push({ log: containsText(f.search) });
  return where;
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
