import {
  BigIntType,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AuditLog } from '../audit/audit-log.entity';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { type Json, WebhookEvent } from './events';
import { Webhook } from './webhook.entity';

export enum DeliveryStatus {
  /** Waiting for its first or next attempt. */
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  /** Given up on (refused, or still failing after the retry window); replayable. */
  DEAD = 'DEAD',
}

registerEnumType(DeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a webhook delivery stands.',
});

/**
 * The outbox: one row per event and receiving webhook, written in the transaction of the
 * change that caused it, so a committed change always has its deliveries and a rolled-back
 * one has none. Senders claim due rows with `FOR UPDATE SKIP LOCKED` and a lease.
 */
@ObjectType({ description: 'One event on its way to one webhook, with its attempts.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'webhook_deliveries' })
@Index({
  name: 'webhook_deliveries_due_index',
  expression:
    'create index "webhook_deliveries_due_index" on "webhook_deliveries" ("next_attempt_at", "id") where "status" = \'PENDING\'',
})
@Index({ properties: ['webhook', 'id'] })
export class WebhookDelivery {
  [OptionalProps]?:
    | 'auditLog'
    | 'status'
    | 'attempts'
    | 'attemptCount'
    | 'nextAttemptAt'
    | 'createdAt'
    | 'deliveredAt'
    | 'lastError'
    | 'lastStatusCode';

  @Field(() => ID)
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  /** Sent as X-Flagward-Delivery; the same on every attempt, so receivers can de-duplicate. */
  @Field({ description: 'Sent as X-Flagward-Delivery; the same on every attempt.' })
  @Property({ type: 'uuid', unique: true })
  deliveryId!: string;

  @ManyToOne(() => Webhook, { deleteRule: 'cascade' })
  webhook!: Rel<Webhook>;

  @Field(() => WebhookEvent)
  @Enum({ items: () => WebhookEvent, nativeEnumName: 'webhook_event' })
  event!: WebhookEvent;

  /** The envelope `{data, event_type}` as sent (AUDIT_LOG_CREATED gets its id at send time). */
  @Field(() => GraphQLJSONObject, { description: 'The body sent, as JSON.' })
  @Property({ type: 'json' })
  payload!: { [key: string]: Json };

  /** The audit record of an AUDIT_LOG_CREATED event; no foreign key, so it outlives it. */
  @ManyToOne(() => AuditLog, { nullable: true, createForeignKeyConstraint: false })
  auditLog?: Rel<AuditLog> | null;

  @Field(() => DeliveryStatus)
  @Enum({
    items: () => DeliveryStatus,
    nativeEnumName: 'webhook_delivery_status',
    default: DeliveryStatus.PENDING,
  })
  status: DeliveryStatus = DeliveryStatus.PENDING;

  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Field(() => Int, { description: 'Attempts made so far.' })
  get attemptCount(): number {
    return this.attempts;
  }

  @Field({ description: "When the next attempt is due (or the current one's lease ends)." })
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  nextAttemptAt: Date = new Date();

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  deliveredAt?: Date | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Field(() => Int, { nullable: true })
  @Property({ type: 'integer', nullable: true })
  lastStatusCode?: number | null;
}

/** One try at sending a delivery. */
@ObjectType({ description: 'One attempt at sending a webhook delivery.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'webhook_delivery_attempts' })
export class WebhookAttempt {
  [OptionalProps]?: 'statusCode' | 'error';

  @Field(() => ID)
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @ManyToOne(() => WebhookDelivery, { deleteRule: 'cascade', index: true })
  delivery!: Rel<WebhookDelivery>;

  @Field(() => Int, { description: '1 for the first attempt.' })
  @Property({ type: 'integer' })
  attempt!: number;

  @Field()
  @Property({ type: 'datetime' })
  startedAt!: Date;

  @Field(() => Int)
  @Property({ type: 'integer' })
  durationMs!: number;

  @Field(() => Int, { nullable: true, description: "The receiver's HTTP status, if it answered." })
  @Property({ type: 'integer', nullable: true })
  statusCode?: number | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  error?: string | null;
}
