import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import type { PermissionService, ScopeRef } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { byId, byProperty, ID_KEYS, orderedPage, type Page } from '../shared/cursor';
import { containsText } from '../shared/search';
import { ValidationError } from '../shared/errors';
import { sha256Hex } from '../shared/ids';
import { DeliveryStatus, WebhookDelivery } from './delivery.entity';
import { flagEventData, type Json, webhookTimestamp, WebhookEvent } from './events';
import { checkWebhookUrl, type SenderOptions } from './http-sender';
import { changedBy, type WebhookOutbox } from './outbox';
import type { SecretBox } from '../shared/secret-box';
import { Webhook, WebhookScope } from './webhook.entity';
import type {
  CreateEnvironmentWebhookInput,
  CreateOrganisationWebhookInput,
  EnvironmentWebhooksArgs,
  OrganisationWebhooksArgs,
  UpdateWebhookInput,
  WebhookDeliveriesArgs,
} from './webhook.inputs';

type CreateInput = CreateEnvironmentWebhookInput | CreateOrganisationWebhookInput;

const FLAG_EVENTS = [
  WebhookEvent.FLAG_FEATURE_CREATED,
  WebhookEvent.FLAG_FEATURE_UPDATED,
  WebhookEvent.FLAG_FEATURE_DELETED,
  WebhookEvent.FLAG_SEGMENT_CREATED,
  WebhookEvent.FLAG_SEGMENT_UPDATED,
  WebhookEvent.FLAG_SEGMENT_DELETED,
  WebhookEvent.FLAG_IDENTITY_UPDATED,
];

/** What each scope can subscribe to. */
const EVENTS_OF: Record<WebhookScope, readonly WebhookEvent[]> = {
  [WebhookScope.ENVIRONMENT]: FLAG_EVENTS,
  [WebhookScope.ORGANISATION]: [...FLAG_EVENTS, WebhookEvent.AUDIT_LOG_CREATED],
};

/**
 * Manages webhooks (environment webhooks for environment admins, organisation webhooks for
 * organisation admins) and their deliveries: list, replay, test.
 */
export class WebhookService {
  constructor(
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
    private readonly secrets: SecretBox,
    private readonly sender: SenderOptions,
  ) {}

  /** A page of the webhooks matching `where` and the args' filter. */
  list(
    em: EntityManager,
    where: FilterQuery<Webhook>,
    args: EnvironmentWebhooksArgs | OrganisationWebhooksArgs,
  ): Promise<Page<Webhook>> {
    const conditions: FilterQuery<Webhook>[] = [where];
    const term = args.filter?.search?.trim();
    if (term) conditions.push({ $or: [{ url: containsText(term) }, { name: containsText(term) }] });
    if (args.filter?.enabled != null) conditions.push({ enabled: args.filter.enabled });
    return orderedPage(em, Webhook, conditions, args, args.orderBy, {
      ID: byId,
      URL: byProperty<Webhook>('url'),
    });
  }

  async createForEnvironment(
    em: EntityManager,
    p: PermissionService,
    environment: Environment,
    input: CreateEnvironmentWebhookInput,
  ): Promise<Webhook> {
    const project = await em.findOneOrFail(Project, environment.project.id);
    return this.create(em, p, input, WebhookScope.ENVIRONMENT, {
      organisationId: project.organisation.id,
      projectId: project.id,
      environmentId: environment.id,
    });
  }

  async createForOrganisation(
    em: EntityManager,
    p: PermissionService,
    organisationId: number,
    input: CreateOrganisationWebhookInput,
  ): Promise<Webhook> {
    return this.create(em, p, input, WebhookScope.ORGANISATION, { organisationId });
  }

  private async create(
    em: EntityManager,
    p: PermissionService,
    input: CreateInput,
    scope: WebhookScope,
    where: ScopeRef,
  ): Promise<Webhook> {
    const url = await this.checkUrl(input.url, 'input.url');
    const events = checkEvents(input.events ?? [], scope, 'input.events');
    const secret = checkSecret(input.secret, 'input.secret');
    return em.transactional(async (tx) => {
      const webhook = tx.create(Webhook, {
        scope,
        organisation: scope === WebhookScope.ORGANISATION ? where.organisationId : null,
        environment: scope === WebhookScope.ENVIRONMENT ? where.environmentId! : null,
        name: input.name?.trim() ?? '',
        url,
        enabled: input.enabled,
        events,
      });
      await tx.flush();
      this.setSecret(webhook, secret);
      await tx.flush();
      await this.record(tx, p, webhook, where, ChangeType.CREATE, null, describe(webhook));
      return webhook;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    webhook: Webhook,
    input: UpdateWebhookInput,
  ): Promise<Webhook> {
    const url = input.url == null ? undefined : await this.checkUrl(input.url, 'input.url');
    const events =
      input.events == null ? undefined : checkEvents(input.events, webhook.scope, 'input.events');
    const secret =
      input.secret === undefined || input.secret === null
        ? undefined
        : input.secret === ''
          ? null
          : checkSecret(input.secret, 'input.secret');
    const scope = await p.scopeOf(webhook);
    return em.transactional(async (tx) => {
      const before = describe(webhook);
      if (url !== undefined) webhook.url = url;
      if (input.name != null) webhook.name = input.name.trim();
      if (input.enabled != null) webhook.enabled = input.enabled;
      if (events !== undefined) webhook.events = events;
      if (secret !== undefined) this.setSecret(webhook, secret);
      await tx.flush();
      await this.record(tx, p, webhook, scope, ChangeType.UPDATE, before, describe(webhook));
      return webhook;
    });
  }

  async delete(em: EntityManager, p: PermissionService, webhook: Webhook): Promise<string> {
    const scope = await p.scopeOf(webhook);
    return em.transactional(async (tx) => {
      await this.record(tx, p, webhook, scope, ChangeType.DELETE, describe(webhook), null);
      await tx.nativeDelete(Webhook, { id: webhook.id });
      return String(webhook.id);
    });
  }

  deliveries(
    em: EntityManager,
    webhook: Webhook,
    args: WebhookDeliveriesArgs,
  ): Promise<Page<WebhookDelivery>> {
    const where: FilterQuery<WebhookDelivery>[] = [{ webhook: webhook.id }];
    if (args.status) where.push({ status: args.status });
    return orderedPage(em, WebhookDelivery, where, args, args.orderBy, ID_KEYS);
  }

  /** Sends a delivery again with the same delivery id (dead letters, or to re-send one). */
  async replay(
    em: EntityManager,
    p: PermissionService,
    delivery: WebhookDelivery,
  ): Promise<WebhookDelivery> {
    if (delivery.status === DeliveryStatus.PENDING)
      throw new ValidationError('id', 'this delivery is already waiting to be sent');
    const webhook = await em.findOneOrFail(Webhook, delivery.webhook.id);
    const scope = await p.scopeOf(webhook);
    return em.transactional(async (tx) => {
      delivery.status = DeliveryStatus.PENDING;
      delivery.nextAttemptAt = new Date();
      await tx.flush();
      await this.record(
        tx,
        p,
        webhook,
        scope,
        ChangeType.UPDATE,
        null,
        { replayed: delivery.deliveryId },
        `Webhook delivery replayed: ${shownUrl(webhook.url)}`,
      );
      this.outbox.wake(tx);
      return delivery;
    });
  }

  /** Replays every dead letter of a webhook; returns how many. */
  async replayDead(em: EntityManager, p: PermissionService, webhook: Webhook): Promise<number> {
    const scope = await p.scopeOf(webhook);
    return em.transactional(async (tx) => {
      const count = await tx.nativeUpdate(
        WebhookDelivery,
        { webhook: webhook.id, status: DeliveryStatus.DEAD },
        { status: DeliveryStatus.PENDING, nextAttemptAt: new Date() },
      );
      if (count > 0) {
        await this.record(
          tx,
          p,
          webhook,
          scope,
          ChangeType.UPDATE,
          null,
          { replayed: count },
          `Dead webhook deliveries replayed (${count}): ${shownUrl(webhook.url)}`,
        );
        this.outbox.wake(tx);
      }
      return count;
    });
  }

  /** Queues a sample event for the webhook (sent like any other delivery). */
  async sendTest(
    em: EntityManager,
    p: PermissionService,
    webhook: Webhook,
  ): Promise<WebhookDelivery> {
    const scope = await p.scopeOf(webhook);
    return em.transactional(async (tx) => {
      const payload = await testPayload(tx, p, webhook, scope);
      const delivery = this.outbox.enqueue(tx, webhook, WebhookEvent.TEST, payload);
      await tx.flush();
      await this.record(
        tx,
        p,
        webhook,
        scope,
        ChangeType.UPDATE,
        null,
        { testDelivery: delivery.deliveryId },
        `Test event sent to webhook: ${shownUrl(webhook.url)}`,
      );
      return delivery;
    });
  }

  private setSecret(webhook: Webhook, secret: string | null): void {
    webhook.secretCiphertext =
      secret === null ? null : this.secrets.seal(secret, `webhook:${webhook.id}`);
    webhook.hasSecret = secret !== null;
  }

  private async checkUrl(raw: string, field: string): Promise<string> {
    const url = raw.trim();
    const problem = await checkWebhookUrl(url, this.sender);
    if (problem) throw new ValidationError(field, problem);
    return url;
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    webhook: Webhook,
    where: ScopeRef,
    change: ChangeType,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    log?: string,
  ): Promise<void> {
    const verb = { CREATE: 'created', UPDATE: 'updated', DELETE: 'deleted' }[change];
    await this.audit.record(tx, p, {
      organisationId: where.organisationId,
      projectId: where.projectId ?? null,
      environmentId: where.environmentId ?? null,
      type: AuditObjectType.WEBHOOK,
      objectId: webhook.id,
      change,
      log: log ?? `Webhook ${verb}: ${shownUrl(webhook.url)}`,
      before,
      after,
    });
  }
}

/**
 * A webhook URL as the audit log shows it: scheme, host and port only, since receivers
 * often carry a credential in the path or query (e.g. Slack's incoming webhooks).
 */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname === '/' && !parsed.search ? parsed.origin : `${parsed.origin}/…`;
  } catch {
    return '(invalid URL)';
  }
}

/** What the audit log keeps of a webhook: never the secret, nor the URL's path. */
function describe(w: Webhook): Record<string, unknown> {
  return {
    url: shownUrl(w.url),
    urlFingerprint: sha256Hex(w.url).slice(0, 12),
    name: w.name,
    enabled: w.enabled,
    events: [...w.events],
    hasSecret: w.hasSecret,
  };
}

function checkEvents(
  events: readonly WebhookEvent[],
  scope: WebhookScope,
  field: string,
): WebhookEvent[] {
  const allowed = EVENTS_OF[scope];
  for (const [i, event] of events.entries()) {
    if (!allowed.includes(event))
      throw new ValidationError(
        `${field}.${i}`,
        `${event} is not an event ${scope === WebhookScope.ENVIRONMENT ? 'an environment' : 'an organisation'} webhook can receive`,
      );
  }
  return [...new Set(events)];
}

function checkSecret(secret: string | null | undefined, field: string): string | null {
  if (secret == null || secret === '') return null;
  if (secret.length < 8) throw new ValidationError(field, 'must be at least 8 characters');
  return secret;
}

/** A sample body shaped like the webhook's real events, marked as a test. */
async function testPayload(
  tx: EntityManager,
  p: PermissionService,
  webhook: Webhook,
  scope: ScopeRef,
): Promise<{ [key: string]: Json }> {
  const now = webhookTimestamp(new Date());
  if (webhook.scope === WebhookScope.ORGANISATION) {
    return {
      event_type: 'AUDIT_LOG_CREATED',
      data: {
        id: 0,
        created_date: now,
        log: 'Test event sent from Flagward',
        author: null,
        environment: null,
        project: null,
        related_object_id: webhook.id,
        related_object_uuid: null,
        related_object_type: 'WEBHOOK',
        is_system_event: true,
        test: true,
      },
    };
  }
  const environment = await tx.findOneOrFail(Environment, scope.environmentId!);
  const project = await tx.findOneOrFail(Project, scope.projectId!);
  const at = new Date();
  const data = flagEventData({
    changedBy: await changedBy(tx, p),
    at,
    context: {
      feature: {
        id: 0,
        createdAt: at,
        defaultEnabled: false,
        description: 'A sample feature for a test event',
        initialValue: null,
        name: 'flagward_test_event',
        type: 'STANDARD',
      },
      project,
      environment,
      identity: null,
      segmentOverride: null,
    },
    before: { enabled: false, value: null, allocations: [] },
    after: { enabled: true, value: null, allocations: [] },
  });
  return { event_type: 'FLAG_UPDATED', data: { ...data, test: true } };
}
