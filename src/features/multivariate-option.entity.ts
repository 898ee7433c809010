import {
  BigIntType,
  Check,
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Feature } from './feature.entity';
import { ValueType } from './feature-value';

@ObjectType({ description: 'One value a multivariate feature can take.' })
@TypeRequires(permissionOn('VIEW_PROJECT', 'root'))
@Entity({ tableName: 'multivariate_options' })
@Unique({ properties: ['feature', 'key'] })
@Check({
  name: 'multivariate_options_allocation_range',
  expression: 'default_percentage_allocation >= 0 and default_percentage_allocation <= 100',
})
export class MultivariateOption {
  [OptionalProps]?: 'stringValue' | 'integerValue' | 'booleanValue' | 'defaultPercentageAllocation';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Feature, { deleteRule: 'cascade', index: true })
  feature!: Rel<Feature>;

  /** Slug, unique per feature; `control` is reserved. */
  @Field({ description: 'Variant key (slug), unique per feature.' })
  @Property({ type: 'string', length: 100 })
  key!: string;

  @Enum({ items: () => ValueType, nativeEnumName: 'value_type' })
  type!: ValueType;

  @Property({ type: 'text', nullable: true })
  stringValue?: string | null;

  @Property({ type: new BigIntType('string'), nullable: true })
  integerValue?: string | null;

  @Property({ type: 'boolean', nullable: true })
  booleanValue?: boolean | null;

  @Property({ type: 'decimal', precision: 5, scale: 2, default: 100 })
  defaultPercentageAllocation: string = '100';
}
