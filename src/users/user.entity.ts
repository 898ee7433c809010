import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { FieldRequires, TypeRequires } from '../permissions/requires.decorator';
import { newUuid } from '../shared/ids';

@ObjectType({ description: 'A person who signs in to manage flags.' })
@TypeRequires({ kind: 'authenticated' })
@Entity({ tableName: 'users' })
@Unique({
  name: 'users_email_ci_unique',
  expression: 'create unique index "users_email_ci_unique" on "users" (lower("email"))',
})
export class User {
  [OptionalProps]?:
    | 'uuid'
    | 'isStaff'
    | 'isSuperuser'
    | 'isActive'
    | 'dateJoined'
    | 'firstName'
    | 'lastName'
    | 'twoFactorEnabled';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  /** Login id; unique case-insensitively. Visible to the user, their organisation admins and staff. */
  @Field(() => String, { nullable: true })
  @FieldRequires({ kind: 'self-or-admin-of-user' })
  @Property({ type: 'string', length: 254 })
  email!: string;

  @Field()
  @Property({ type: 'string', length: 150, default: '' })
  firstName: string = '';

  @Field()
  @Property({ type: 'string', length: 150, default: '' })
  lastName: string = '';

  /** Argon2id PHC string; null for accounts that only sign in through SSO. Never exposed. */
  @Property({ type: 'text', nullable: true, lazy: true })
  passwordHash?: string | null;

  @Field()
  @Property({ type: 'boolean', default: false })
  isStaff: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: false })
  isSuperuser: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  isActive: boolean = true;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastLogin?: Date | null;

  @Field()
  @Index()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  dateJoined: Date = new Date();

  /** The TOTP seed, sealed with the instance key (context `totp:<id>`); null until set up. */
  @Property({ type: 'text', nullable: true, lazy: true })
  totpSealed?: string | null;

  /** When two-factor sign-in was confirmed; null while it is off. */
  @Property({ type: 'datetime', nullable: true })
  totpEnabledAt?: Date | null;

  /** The last TOTP time step accepted: each code is good once. */
  @Property({ type: 'integer', nullable: true })
  totpLastStep?: number | null;

  /** Whether sign-in asks for a code from an authenticator app. */
  @Field(() => Boolean, { nullable: true })
  @FieldRequires({ kind: 'self-or-admin-of-user' })
  get twoFactorEnabled(): boolean {
    return this.totpEnabledAt != null;
  }
}
