import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { User } from '../users/user.entity';
import { Organisation } from './organisation.entity';

/**
 * An organisation API key ("Terraform key"): `<prefix>.<secret>`; only the prefix and the
 * SHA-256 of the whole key are stored.
 */
@Entity({ tableName: 'organisation_api_keys' })
export class OrganisationApiKey {
  [OptionalProps]?: 'createdAt' | 'isAdmin' | 'expiresAt' | 'revokedAt' | 'createdBy';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'string', length: 16, unique: true })
  prefix!: string;

  @Property({ type: 'string', length: 64, unique: true })
  keyHash!: string;

  @Property({ type: 'boolean', default: true })
  isAdmin: boolean = true;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'set null' })
  createdBy?: Rel<User> | null;
}
