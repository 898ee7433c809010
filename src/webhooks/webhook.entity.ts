import {
  Check,
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { WebhookEvent } from './events';

export enum WebhookScope {
  /** Audit-log (and flag-change) webhooks of an organisation. */
  ORGANISATION = 'ORGANISATION',
  /** Flag-change webhooks of an environment. */
  ENVIRONMENT = 'ENVIRONMENT',
}

registerEnumType(WebhookScope, {
  name: 'WebhookScope',
  description: 'Whether a webhook belongs to an organisation or to an environment.',
});

/**
 * A receiver of change events. Reached only through the webhook queries and mutations,
 * which let environment admins (environment webhooks) and organisation admins
 * (organisation webhooks) see and manage them.
 */
@ObjectType({ description: 'A URL that receives change events, signed when it has a secret.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'webhooks' })
@Check({
  name: 'webhooks_scope_target',
  expression:
    "(scope = 'ORGANISATION' and organisation_id is not null and environment_id is null) or " +
    "(scope = 'ENVIRONMENT' and environment_id is not null and organisation_id is null)",
})
export class Webhook {
  [OptionalProps]?:
    | 'organisation'
    | 'environment'
    | 'name'
    | 'secretCiphertext'
    | 'hasSecret'
    | 'enabled'
    | 'events'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field(() => WebhookScope)
  @Enum({ items: () => WebhookScope, nativeEnumName: 'webhook_scope' })
  scope!: WebhookScope;

  @ManyToOne(() => Organisation, { nullable: true, deleteRule: 'cascade', index: true })
  organisation?: Rel<Organisation> | null;

  @ManyToOne(() => Environment, { nullable: true, deleteRule: 'cascade', index: true })
  environment?: Rel<Environment> | null;

  @Field()
  @Property({ type: 'string', length: 200, default: '' })
  name: string = '';

  @Field()
  @Property({ type: 'string', length: 2000 })
  url!: string;

  /** The signing secret, sealed with the instance key (AES-256-GCM); never returned. */
  @Property({ type: 'text', nullable: true, lazy: true })
  secretCiphertext?: string | null;

  @Field({ description: 'Deliveries are signed (X-Flagsmith-Signature, X-Flagward-Signature).' })
  @Property({ type: 'boolean', default: false })
  hasSecret: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  @Field(() => [WebhookEvent], {
    description: 'The events this webhook receives; empty means every event of its scope.',
  })
  @Enum({
    items: () => WebhookEvent,
    array: true,
    nativeEnumName: 'webhook_event',
    default: [],
  })
  events: WebhookEvent[] = [];

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
