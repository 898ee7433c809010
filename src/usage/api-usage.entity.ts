import {
  BigIntType,
  Entity,
  Enum,
  ManyToOne,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { registerEnumType } from 'type-graphql';
import { Environment } from '../environments/environment.entity';

/** The SDK request kinds counted for usage (Flagsmith's billing resources, admin-domain.md §6). */
export enum ApiUsageKind {
  FLAGS = 'FLAGS',
  IDENTITIES = 'IDENTITIES',
  TRAITS = 'TRAITS',
  ENVIRONMENT_DOCUMENT = 'ENVIRONMENT_DOCUMENT',
}
registerEnumType(ApiUsageKind, {
  name: 'ApiUsageKind',
  description: 'An SDK request kind counted for usage.',
});

/** SDK requests of one kind to one environment on one (UTC) day. Written by `UsageRecorder`. */
@Entity({ tableName: 'api_usage' })
@Unique({ properties: ['environment', 'day', 'kind'] })
export class ApiUsage {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Environment, { deleteRule: 'cascade' })
  environment!: Rel<Environment>;

  @Property({ type: 'date' })
  day!: string;

  @Enum({ items: () => ApiUsageKind, nativeEnumName: 'api_usage_kind' })
  kind!: ApiUsageKind;

  @Property({ type: new BigIntType('string') })
  count!: string;
}

/**
 * Evaluations of one feature (by name, as SDK analytics report it) in one environment on one
 * (UTC) day. Written by `UsageRecorder`.
 */
@Entity({ tableName: 'feature_evaluations' })
@Unique({ properties: ['environment', 'day', 'featureName'] })
export class FeatureEvaluation {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Environment, { deleteRule: 'cascade' })
  environment!: Rel<Environment>;

  @Property({ type: 'date' })
  day!: string;

  @Property({ type: 'string', length: 2000 })
  featureName!: string;

  @Property({ type: new BigIntType('string') })
  count!: string;
}
