import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { WebhookConfig } from '../config/config';
import { type Logger, requestContext } from '../shared/logger';
import { DeliveryStatus } from './delivery.entity';
import type { Json } from './events';
import { postWebhook, type SenderOptions, type WebhookOutcome } from './http-sender';
import type { WebhookOutbox } from './outbox';
import { pythonJsonDumps } from './python-json';
import type { SecretBox } from '../shared/secret-box';
import { DELIVERY_HEADERS, deliverySignature, flagsmithSignature } from './signing';

/** How many deliveries one worker claims (and sends concurrently) at a time. */
const BATCH = 16;

interface Claimed {
  readonly id: string;
  readonly deliveryId: string;
  readonly event: string;
  readonly payload: { [key: string]: Json };
  readonly auditLogId: string | null;
  readonly attempts: number;
  readonly createdAt: Date;
  readonly url: string;
  readonly enabled: boolean;
  readonly secretCiphertext: string | null;
  readonly webhookId: number;
}

/**
 * Sends the outbox. Each round claims due deliveries with `FOR UPDATE SKIP LOCKED` and takes
 * a lease on them (their `next_attempt_at` moves past the send timeout), so several
 * processes on one database never send the same delivery at once, and a process that dies
 * mid-send leaves its claims to be picked up when the lease runs out (at-least-once: a
 * receiver may see a delivery id twice, never a different id for the same event).
 *
 * A 2xx marks a delivery DELIVERED. Network errors, timeouts, 5xx and 429 are retried with
 * exponential backoff (base × 2^(attempt−1), capped, with jitter) until `deadAfterMs` after
 * the event; then, or at once for any other answer (3xx, 4xx) or a refused address, it
 * becomes DEAD, which `replay` can undo. Every attempt is recorded.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  /** Deliveries claimed by this process and not yet settled. */
  private readonly inFlight = new Map<string, Claimed>();

  constructor(
    private readonly orm: MikroORM,
    private readonly config: WebhookConfig,
    private readonly secrets: SecretBox,
    private readonly sender: SenderOptions,
    private readonly logger: Logger,
  ) {}

  /** Polls every `pollMs`, and at once after this process commits new deliveries. */
  start(outbox?: WebhookOutbox): void {
    this.unsubscribe = outbox?.onCommit(() => this.kick());
    const tick = (): void => {
      this.timer = setTimeout(() => {
        this.kick();
        tick();
      }, this.config.pollMs);
      this.timer.unref();
    };
    tick();
    this.kick();
  }

  /** Runs rounds now (or right after the ones in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    // Rounds belong to no request, though a request's commit may start one.
    this.running = requestContext.exit(() =>
      this.rounds().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      }),
    );
  }

  /** Sends everything due now; resolves once nothing due is left unsent. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    if (this.stopped) return;
    this.running = this.rounds().finally(() => {
      this.running = undefined;
    });
    await this.running;
  }

  /** Claim-and-send rounds until a round finds fewer than a full batch. */
  private async rounds(): Promise<void> {
    try {
      while (!this.stopped && (await this.round()) === BATCH);
    } catch (err) {
      this.logger.warn({ err }, 'webhook delivery round failed; retrying on the next poll');
    }
  }

  /**
   * Stops polling and waits for the sends in progress to be recorded. Claims made as it
   * stops are handed back unsent. With a `deadline` (ms since the epoch), sends still
   * unfinished then are handed back too — due at once, for another process (or this one's
   * next start) to send, instead of after their lease — and close() returns without them.
   */
  async close(deadline?: number): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    while (this.running) {
      if (deadline === undefined) {
        await this.running;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        this.running.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      if (expired) {
        // The request may have reached the receiver: the attempt stays counted.
        await this.release([...this.inFlight.values()], false);
        return;
      }
    }
  }

  /** One claim-and-send round; returns how many deliveries it handled. */
  private async round(): Promise<number> {
    const claimed = await this.claim();
    if (this.stopped) {
      await this.release(claimed, true);
      return 0;
    }
    for (const d of claimed) this.inFlight.set(d.id, d);
    await Promise.all(claimed.map((d) => this.send(d).finally(() => this.inFlight.delete(d.id))));
    return claimed.length;
  }

  /**
   * Ends this process's lease on deliveries: due now again, unless settled (or claimed
   * again) meanwhile. `unsent` also takes back the attempt the claim counted.
   */
  private async release(deliveries: readonly Claimed[], unsent: boolean): Promise<void> {
    if (deliveries.length === 0) return;
    const ids = `{${deliveries.map((d) => d.id).join(',')}}`;
    const attempts = `{${deliveries.map((d) => d.attempts).join(',')}}`;
    try {
      await this.em()
        .getConnection()
        .execute(
          `update webhook_deliveries d
              set next_attempt_at = now(), attempts = d.attempts - ?
             from unnest(?::bigint[], ?::int[]) as c(id, attempts)
            where d.id = c.id and d.attempts = c.attempts and d.status = 'PENDING'`,
          [unsent ? 1 : 0, ids, attempts],
        );
      this.logger.info({ deliveries: deliveries.length, unsent }, 'webhook deliveries handed back');
    } catch (err) {
      // Their lease runs out instead.
      this.logger.warn({ err }, 'could not hand back webhook deliveries');
    }
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  private async claim(): Promise<Claimed[]> {
    const leaseSeconds = Math.ceil(this.config.timeoutMs / 1000) * 2 + 30;
    const rows = await this.em()
      .getConnection()
      .execute<Record<string, unknown>[]>(
        `with due as (
           select id from webhook_deliveries
            where status = 'PENDING' and next_attempt_at <= now()
            order by next_attempt_at, id
            limit ?
            for update skip locked
         )
         update webhook_deliveries d
            set attempts = d.attempts + 1,
                next_attempt_at = now() + make_interval(secs => ?)
           from due, webhooks w
          where d.id = due.id and w.id = d.webhook_id
        returning d.id, d.delivery_id, d.event, d.payload, d.audit_log_id, d.attempts,
                  d.created_at, d.webhook_id, w.url, w.enabled, w.secret_ciphertext`,
        [BATCH, leaseSeconds],
      );
    return rows.map((r) => ({
      id: String(r.id),
      deliveryId: String(r.delivery_id),
      event: String(r.event),
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as {
        [key: string]: Json;
      },
      auditLogId: r.audit_log_id == null ? null : String(r.audit_log_id),
      attempts: Number(r.attempts),
      createdAt: new Date(r.created_at as string),
      url: String(r.url),
      enabled: Boolean(r.enabled),
      secretCiphertext: (r.secret_ciphertext as string | null) ?? null,
      webhookId: Number(r.webhook_id),
    }));
  }

  private async send(d: Claimed): Promise<void> {
    const startedAt = new Date();
    let outcome: WebhookOutcome;
    if (!d.enabled) {
      outcome = { kind: 'blocked', error: 'the webhook is disabled', durationMs: 0 };
    } else {
      try {
        outcome = await postWebhook(this.request(d), this.sender);
      } catch (err) {
        // Only a secret that no longer opens (SECRET_KEY changed) gets here.
        outcome = { kind: 'blocked', error: (err as Error).message, durationMs: 0 };
      }
    }
    await this.settle(d, startedAt, outcome);
  }

  /** The body and headers of an attempt: the same body every time, a fresh timestamp. */
  private request(d: Claimed): Parameters<typeof postWebhook>[0] {
    const payload = d.auditLogId === null ? d.payload : withAuditId(d.payload, d.auditLogId);
    const body = Buffer.from(pythonJsonDumps(payload), 'utf8');
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Flagward-Webhooks/1',
      [DELIVERY_HEADERS.id]: d.deliveryId,
      [DELIVERY_HEADERS.timestamp]: String(timestamp),
      [DELIVERY_HEADERS.event]: d.event,
    };
    if (d.secretCiphertext) {
      const secret = this.secrets.open(d.secretCiphertext, `webhook:${d.webhookId}`);
      headers[DELIVERY_HEADERS.flagsmithSignature] = flagsmithSignature(secret, body);
      headers[DELIVERY_HEADERS.signature] = deliverySignature(
        secret,
        d.deliveryId,
        timestamp,
        body,
      );
    }
    return { url: d.url, body, headers, timeoutMs: this.config.timeoutMs };
  }

  /** Records the attempt and moves the delivery on — unless another claim has taken it since. */
  private async settle(d: Claimed, startedAt: Date, outcome: WebhookOutcome): Promise<void> {
    const status = outcome.kind === 'response' ? outcome.status : null;
    const error =
      outcome.kind === 'response'
        ? status! >= 200 && status! < 300
          ? null
          : `the receiver answered ${status}`
        : outcome.error;
    const delivered = status !== null && status >= 200 && status < 300;
    const retriable =
      outcome.kind === 'network-error' || (status !== null && (status >= 500 || status === 429));
    const expired = Date.now() - d.createdAt.getTime() >= this.config.deadAfterMs;
    const next = delivered
      ? DeliveryStatus.DELIVERED
      : retriable && !expired
        ? DeliveryStatus.PENDING
        : DeliveryStatus.DEAD;
    const delayMs = next === DeliveryStatus.PENDING ? this.backoff(d.attempts) : 0;
    try {
      await this.em()
        .getConnection()
        .execute(
          `with moved as (
             update webhook_deliveries
                set status = ?, next_attempt_at = now() + make_interval(secs => ?),
                    delivered_at = case when ? then now() else delivered_at end,
                    last_error = ?, last_status_code = ?
              where id = ? and attempts = ? and status = 'PENDING'
              returning id
           )
           insert into webhook_delivery_attempts
             (delivery_id, attempt, started_at, duration_ms, status_code, error)
           select id, ?, ?, ?, ?, ? from moved`,
          [
            next,
            delayMs / 1000,
            delivered,
            error,
            status,
            d.id,
            d.attempts,
            d.attempts,
            startedAt,
            Math.round(outcome.durationMs),
            status,
            error,
          ],
        );
    } catch (err) {
      // The lease runs out and the delivery is tried again: at-least-once, same delivery id.
      this.logger.warn({ err, delivery: d.deliveryId }, 'could not record a webhook attempt');
    }
    if (!delivered)
      this.logger.info(
        { delivery: d.deliveryId, webhook: d.webhookId, attempt: d.attempts, error, next },
        'webhook delivery failed',
      );
  }

  /** base × 2^(attempt−1), capped, less up to 20% jitter so retries of many events spread. */
  private backoff(attempt: number): number {
    const raw = this.config.retryBaseMs * 2 ** Math.min(attempt - 1, 30);
    const capped = Math.min(raw, this.config.retryMaxMs);
    return Math.round(capped * (0.8 + Math.random() * 0.2));
  }
}

function withAuditId(
  payload: { [key: string]: Json },
  auditLogId: string,
): { [key: string]: Json } {
  const data = payload.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return payload;
  const id = Number(auditLogId);
  return { ...payload, data: { ...data, id: Number.isSafeInteger(id) ? id : auditLogId } };
}
