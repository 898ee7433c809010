import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { User } from '../users/user.entity';
import { Organisation } from './organisation.entity';
import { NotCached } from '../graphql/response-cache';

/**
 * An organisation API key ("Terraform key", Flagsmith's master API key): `<prefix>.<secret>`;
 * only the prefix and the SHA-256 of the whole key are stored. Used as
 * `Authorization: Api-Key <key>`, it acts within its organisation only: as an organisation
 * admin when `isAdmin`, otherwise with the grants of the roles assigned to it.
 */
@ObjectType({ description: 'An organisation API key; the key itself is shown only once.' })
@TypeRequires(permissionOn('ORGANISATION_ADMIN', 'root'))
@Entity({ tableName: 'organisation_api_keys' })
export class OrganisationApiKey {
  [OptionalProps]?: 'createdAt' | 'isAdmin' | 'expiresAt' | 'revokedAt' | 'createdBy' | 'active';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Field()
  @Property({ type: 'string', length: 200 })
  name!: string;

  /** The key's first part, to tell keys apart (and to find one without its secret). */
  @Field()
  @Property({ type: 'string', length: 16, unique: true })
  prefix!: string;

  @Property({ type: 'string', length: 64, unique: true })
  keyHash!: string;

  @Field({ description: 'Acts as an organisation admin; otherwise holds its roles’ grants.' })
  @Property({ type: 'boolean', default: true })
  isAdmin: boolean = true;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'set null' })
  createdBy?: Rel<User> | null;

  @Field({ description: 'Neither revoked nor expired.' })
  @NotCached()
  get active(): boolean {
    return this.isUsableAt(new Date());
  }

  isUsableAt(now: Date): boolean {
    return !this.revokedAt && (!this.expiresAt || this.expiresAt > now);
  }
}
