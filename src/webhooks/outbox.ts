import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM, TransactionEventArgs } from '@mikro-orm/core';
import type { AuditLog } from '../audit/audit-log.entity';
import { rootTransaction } from '../environments/changes';
import { Environment } from '../environments/environment.entity';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { User } from '../users/user.entity';
import { WebhookDelivery } from './delivery.entity';
import {
  auditLogData,
  flagEventData,
  type Json,
  type StateContext,
  type StateValues,
  WebhookEvent,
  WIRE_TYPE,
} from './events';
import { Webhook, WebhookScope } from './webhook.entity';

/** A change to one feature state, as the webhooks of its environment hear of it. */
export interface FlagChange {
  readonly organisationId: number;
  readonly environmentId: number;
  readonly event: Exclude<WebhookEvent, WebhookEvent.AUDIT_LOG_CREATED | WebhookEvent.TEST>;
  /** Built only when some webhook will receive the event. */
  readonly context: () => Promise<StateContext>;
  readonly before: StateValues | null;
  readonly after: StateValues | null;
}

/**
 * Writes webhook deliveries (the outbox) in the transaction of the change that causes them,
 * one row per event and receiving webhook. Once such a transaction commits, `onCommit`
 * listeners (this process's delivery worker) are told, so delivery starts at once; workers
 * of other processes find the rows on their next poll.
 */
export class WebhookOutbox {
  private readonly listeners = new Set<() => void>();

  /** Tells `listener` after each commit of a transaction that enqueued deliveries. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  attach(orm: MikroORM): void {
    orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: (args: TransactionEventArgs): void => {
        const trx = args.transaction as object | undefined;
        if (!trx || !enqueued.has(trx)) return;
        enqueued.delete(trx);
        for (const listener of this.listeners) listener();
      },
    });
  }

  /**
   * The enabled webhooks of an organisation and of its environments, read once per
   * transaction (the first event of a change pays for it; the rest reuse it).
   */
  async receivers(tx: EntityManager, organisationId: number): Promise<readonly Webhook[]> {
    const trx = transactionOf(tx);
    let byOrg = receiverCache.get(trx);
    if (!byOrg) receiverCache.set(trx, (byOrg = new Map()));
    let found = byOrg.get(organisationId);
    if (!found) {
      found = tx.find(Webhook, {
        enabled: true,
        $or: [
          { organisation: organisationId },
          { environment: { project: { organisation: organisationId } } },
        ],
      });
      byOrg.set(organisationId, found);
    }
    return found;
  }

  /** Whether any webhook would hear of flag changes in this environment. */
  async watches(
    tx: EntityManager,
    organisationId: number,
    environmentId: number,
  ): Promise<boolean> {
    return (await this.receivers(tx, organisationId)).some((w) => hearsFlags(w, environmentId));
  }

  /** FLAG_UPDATED / FLAG_DELETED for the environment's webhooks (and FLAG_UPDATED for the organisation's). */
  async flagChanged(
    tx: EntityManager,
    actor: PermissionService,
    change: FlagChange,
  ): Promise<void> {
    const wire = WIRE_TYPE[change.event];
    const targets = (await this.receivers(tx, change.organisationId)).filter(
      (w) =>
        subscribes(w, change.event) &&
        (w.environment?.id === change.environmentId ||
          (w.scope === WebhookScope.ORGANISATION && wire === 'FLAG_UPDATED')),
    );
    if (targets.length === 0) return;
    const data = flagEventData({
      changedBy: await changedBy(tx, actor),
      at: new Date(),
      context: await change.context(),
      before: change.before,
      after: change.after,
    });
    for (const webhook of targets)
      this.enqueue(tx, webhook, change.event, { data, event_type: wire });
  }

  /** AUDIT_LOG_CREATED for the organisation's webhooks. */
  async auditLogCreated(
    tx: EntityManager,
    actor: PermissionService,
    log: AuditLog,
    organisationId: number,
  ): Promise<void> {
    const targets = (await this.receivers(tx, organisationId)).filter(
      (w) => w.scope === WebhookScope.ORGANISATION && subscribes(w, WebhookEvent.AUDIT_LOG_CREATED),
    );
    if (targets.length === 0) return;
    const environmentId = log.environment?.id;
    const projectId = log.project?.id;
    const environment = environmentId ? await tx.findOne(Environment, environmentId) : null;
    const project = projectId ? await tx.findOne(Project, projectId) : null;
    const author = actor.userId === undefined ? null : await tx.findOne(User, actor.userId);
    const data = auditLogData(log, author, project, environment);
    for (const webhook of targets)
      this.enqueue(
        tx,
        webhook,
        WebhookEvent.AUDIT_LOG_CREATED,
        {
          data,
          event_type: 'AUDIT_LOG_CREATED',
        },
        log,
      );
  }

  /** Has this process's worker look for due deliveries once the transaction commits. */
  wake(tx: EntityManager): void {
    enqueued.add(transactionOf(tx));
  }

  /** One delivery row, in the caller's transaction. */
  enqueue(
    tx: EntityManager,
    webhook: Webhook,
    event: WebhookEvent,
    payload: { [key: string]: Json },
    auditLog?: AuditLog,
  ): WebhookDelivery {
    const delivery = tx.create(WebhookDelivery, {
      deliveryId: randomUUID(),
      webhook,
      event,
      payload,
      auditLog: auditLog ?? null,
    });
    enqueued.add(transactionOf(tx));
    return delivery;
  }
}

/** Root transactions that enqueued deliveries, until they commit. */
const enqueued = new WeakSet<object>();
/** Per root transaction: the webhooks of each organisation (see `receivers`). */
const receiverCache = new WeakMap<object, Map<number, Promise<Webhook[]>>>();

function transactionOf(tx: EntityManager): object {
  const current = tx.getTransactionContext<object>();
  if (!current) throw new Error('webhook deliveries must be written inside a transaction');
  return rootTransaction(current);
}

function subscribes(webhook: Webhook, event: WebhookEvent): boolean {
  return webhook.events.length === 0 || webhook.events.includes(event);
}

function hearsFlags(webhook: Webhook, environmentId: number): boolean {
  return webhook.scope === WebhookScope.ORGANISATION || webhook.environment?.id === environmentId;
}

/** Flagsmith's `changed_by`: the user's e-mail, an API key's name, or "". */
export async function changedBy(tx: EntityManager, actor: PermissionService): Promise<string> {
  if (actor.principal.kind === 'apiKey') return actor.principal.key.name;
  if (actor.userId === undefined) return '';
  const user = await tx.findOne(User, actor.userId);
  return user?.email ?? '';
}
