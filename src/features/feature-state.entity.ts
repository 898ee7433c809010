import {
  BigIntType,
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OneToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Identity } from '../identities/identity.entity';
import { Segment } from '../segments/segment.entity';
import { newUuid } from '../shared/ids';
import { Feature } from './feature.entity';
import { ValueType } from './feature-value';
import { MultivariateOption } from './multivariate-option.entity';

/** A segment override's anchor: which segment, in which environment, at which priority. */
@ObjectType({
  description: 'A segment override of a feature in an environment: the anchor of its state.',
})
@TypeRequires(permissionOn('VIEW_ENVIRONMENT', 'root'))
@Entity({ tableName: 'feature_segments' })
@Unique({ properties: ['feature', 'segment', 'environment'] })
export class FeatureSegment {
  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Feature, { deleteRule: 'cascade', index: true })
  feature!: Rel<Feature>;

  @ManyToOne(() => Segment, { deleteRule: 'cascade', index: true })
  segment!: Rel<Segment>;

  @ManyToOne(() => Environment, { deleteRule: 'cascade', index: true })
  environment!: Rel<Environment>;

  @Field(() => Int, { description: '0-based; a lower number wins.' })
  @Property({ type: 'integer' })
  priority!: number;
}

/**
 * A feature's state in an environment: the environment default (no identity, no
 * segment), a segment override (featureSegment set) or an identity override (identity set).
 * Its typed value is stored inline (Flagsmith's FeatureStateValue, one-to-one).
 */
@ObjectType({
  description:
    'A feature in an environment: its default, a segment override or an identity override.',
})
@TypeRequires(permissionOn('VIEW_ENVIRONMENT', 'root'))
@Entity({ tableName: 'feature_states' })
@Check({
  name: 'feature_states_one_kind',
  expression: 'identity_id is null or feature_segment_id is null',
})
@Index({
  name: 'feature_states_default_unique',
  expression:
    'create unique index "feature_states_default_unique" on "feature_states" ("feature_id", "environment_id") where "identity_id" is null and "feature_segment_id" is null',
})
@Unique({ properties: ['feature', 'environment', 'identity'] })
export class FeatureState {
  [OptionalProps]?:
    | 'uuid'
    | 'identity'
    | 'featureSegment'
    | 'enabled'
    | 'valueType'
    | 'stringValue'
    | 'integerValue'
    | 'booleanValue'
    | 'mvHashingSalt'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Feature, { deleteRule: 'cascade', index: true })
  feature!: Rel<Feature>;

  @ManyToOne(() => Environment, { deleteRule: 'cascade', index: true })
  environment!: Rel<Environment>;

  @ManyToOne(() => Identity, { nullable: true, deleteRule: 'cascade', index: true })
  identity?: Rel<Identity> | null;

  @OneToOne(() => FeatureSegment, { nullable: true, deleteRule: 'cascade', owner: true })
  featureSegment?: Rel<FeatureSegment> | null;

  @Field()
  @Property({ type: 'boolean', default: false })
  enabled: boolean = false;

  @Enum({ items: () => ValueType, nativeEnumName: 'value_type', default: ValueType.unicode })
  valueType: ValueType = ValueType.unicode;

  @Property({ type: 'text', nullable: true })
  stringValue?: string | null;

  @Property({ type: new BigIntType('string'), nullable: true })
  integerValue?: string | null;

  @Property({ type: 'boolean', nullable: true })
  booleanValue?: boolean | null;

  /**
   * The seed for multivariate bucketing when it is not this row's id: kept from an imported
   * Flagsmith document (its `django_id`) so identities keep their variants.
   */
  @Property({ type: 'string', length: 100, nullable: true })
  mvHashingSalt?: string | null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

/** A state's allocation to one multivariate option. Per state the sum is ≤ 100. */
@Entity({ tableName: 'multivariate_state_values' })
@Unique({ properties: ['featureState', 'option'] })
@Check({
  name: 'multivariate_state_values_allocation_range',
  expression: 'percentage_allocation >= 0 and percentage_allocation <= 100',
})
export class MultivariateStateValue {
  [OptionalProps]?: 'uuid';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => FeatureState, { deleteRule: 'cascade', index: true })
  featureState!: Rel<FeatureState>;

  @ManyToOne(() => MultivariateOption, { deleteRule: 'cascade', index: true })
  option!: Rel<MultivariateOption>;

  @Property({ type: 'decimal', precision: 5, scale: 2 })
  percentageAllocation!: string;
}
