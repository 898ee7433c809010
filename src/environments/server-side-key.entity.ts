import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Environment } from './environment.entity';

export const SERVER_KEY_PREFIX = 'ser.';

/**
 * A server-side SDK key (`ser.` + 22 characters). Stored as SHA-256 plus a short visible
 * prefix; the whole key is shown once, when it is created.
 */
@ObjectType()
@TypeRequires(permissionOn('ENVIRONMENT_ADMIN', 'root'))
@Entity({ tableName: 'environment_server_keys' })
export class ServerSideKey {
  [OptionalProps]?: 'createdAt' | 'active' | 'expiresAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Environment, { deleteRule: 'cascade', index: true })
  environment!: Rel<Environment>;

  @Field()
  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'string', length: 64, unique: true })
  keyHash!: string;

  /** The first characters of the key (e.g. `ser.AbC4`), to tell keys apart. */
  @Field()
  @Property({ type: 'string', length: 16 })
  keyPrefix!: string;

  @Field()
  @Property({ type: 'boolean', default: true })
  active: boolean = true;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** Usable by an SDK now: active and not expired. */
  isValidAt(now: Date): boolean {
    return this.active && (!this.expiresAt || this.expiresAt > now);
  }
}
