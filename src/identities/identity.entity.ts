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
import { Environment } from '../environments/environment.entity';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { newUuid } from '../shared/ids';

@ObjectType({ description: 'A user of an environment, as SDKs identify it, with its traits.' })
// Those who manage identities get back the identities they make and change.
@TypeRequires(permissionOn('VIEW_IDENTITIES', 'root'), permissionOn('MANAGE_IDENTITIES', 'root'))
@Entity({ tableName: 'identities' })
@Unique({ properties: ['environment', 'identifier'] })
export class Identity {
  [OptionalProps]?: 'uuid' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Environment, { deleteRule: 'cascade' })
  environment!: Rel<Environment>;

  @Field({ description: 'Unique per environment; case-sensitive.' })
  @Property({ type: 'string', length: 2000 })
  identifier!: string;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

export enum TraitValueType {
  int = 'int',
  unicode = 'unicode',
  bool = 'bool',
  float = 'float',
}

/**
 * A typed trait; never null in storage (setting null deletes it). Reached only through its
 * Identity, whose type requirement (VIEW_IDENTITIES) has already been checked.
 */
@ObjectType({ description: "One of an identity's traits." })
@TypeRequires(Authenticated)
@Entity({ tableName: 'traits' })
@Unique({ properties: ['identity', 'key'] })
@Check({
  name: 'traits_value_present',
  expression: 'num_nonnulls(string_value, integer_value, boolean_value, float_value) = 1',
})
export class Trait {
  [OptionalProps]?: 'stringValue' | 'integerValue' | 'booleanValue' | 'floatValue' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Identity, { deleteRule: 'cascade' })
  identity!: Rel<Identity>;

  @Field({ description: 'Unique per identity; case-sensitive.' })
  @Property({ type: 'string', length: 200 })
  key!: string;

  @Enum({ items: () => TraitValueType, nativeEnumName: 'trait_value_type' })
  valueType!: TraitValueType;

  @Property({ type: 'string', length: 2000, nullable: true })
  stringValue?: string | null;

  @Property({ type: new BigIntType('string'), nullable: true })
  integerValue?: string | null;

  @Property({ type: 'boolean', nullable: true })
  booleanValue?: boolean | null;

  @Property({ type: 'double', nullable: true })
  floatValue?: number | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
