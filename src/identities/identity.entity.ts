import {
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
import { Environment } from '../environments/environment.entity';
import { newUuid } from '../shared/ids';

@Entity({ tableName: 'identities' })
@Unique({ properties: ['environment', 'identifier'] })
export class Identity {
  [OptionalProps]?: 'uuid' | 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Environment, { deleteRule: 'cascade' })
  environment!: Rel<Environment>;

  @Property({ type: 'string', length: 2000 })
  identifier!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

export enum TraitValueType {
  int = 'int',
  unicode = 'unicode',
  bool = 'bool',
  float = 'float',
}

/** A typed trait; never null in storage (setting null deletes it). */
@Entity({ tableName: 'traits' })
@Unique({ properties: ['identity', 'key'] })
@Check({
  name: 'traits_value_present',
  expression: 'num_nonnulls(string_value, integer_value, boolean_value, float_value) = 1',
})
export class Trait {
  [OptionalProps]?: 'stringValue' | 'integerValue' | 'booleanValue' | 'floatValue' | 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Identity, { deleteRule: 'cascade' })
  identity!: Rel<Identity>;

  @Property({ type: 'string', length: 200 })
  key!: string;

  @Enum({ items: () => TraitValueType, nativeEnumName: 'trait_value_type' })
  valueType!: TraitValueType;

  @Property({ type: 'string', length: 2000, nullable: true })
  stringValue?: string | null;

  @Property({ type: 'bigint', nullable: true })
  integerValue?: string | null;

  @Property({ type: 'boolean', nullable: true })
  booleanValue?: boolean | null;

  @Property({ type: 'double', nullable: true })
  floatValue?: number | null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
