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
import { Environment } from '../environments/environment.entity';
import { Organisation } from '../organisations/organisation.entity';

export enum WebhookScope {
  /** Audit-log webhooks of an organisation. */
  ORGANISATION = 'ORGANISATION',
  /** Flag-change webhooks of an environment. */
  ENVIRONMENT = 'ENVIRONMENT',
}

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
    | 'enabled'
    | 'createdAt'
    | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Enum({ items: () => WebhookScope, nativeEnumName: 'webhook_scope' })
  scope!: WebhookScope;

  @ManyToOne(() => Organisation, { nullable: true, deleteRule: 'cascade', index: true })
  organisation?: Rel<Organisation> | null;

  @ManyToOne(() => Environment, { nullable: true, deleteRule: 'cascade', index: true })
  environment?: Rel<Environment> | null;

  @Property({ type: 'string', length: 200, default: '' })
  name: string = '';

  @Property({ type: 'string', length: 2000 })
  url!: string;

  /** The signing secret, encrypted with the instance key (AES-256-GCM); never returned. */
  @Property({ type: 'text', nullable: true, lazy: true })
  secretCiphertext?: string | null;

  @Property({ type: 'boolean', default: true })
  enabled: boolean = true;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
