import {
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { User } from '../users/user.entity';
import { Organisation } from './organisation.entity';

export enum OrganisationRole {
  ADMIN = 'ADMIN',
  USER = 'USER',
}
registerEnumType(OrganisationRole, { name: 'OrganisationRole' });

@ObjectType({ description: "A user's membership of an organisation." })
@TypeRequires(permissionOn('ORGANISATION_MEMBER', 'root'))
@Entity({ tableName: 'organisation_memberships' })
@Unique({ properties: ['user', 'organisation'] })
export class OrganisationMembership {
  [OptionalProps]?: 'dateJoined';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => User, { deleteRule: 'cascade', index: true })
  user!: Rel<User>;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Field(() => OrganisationRole)
  @Enum({ items: () => OrganisationRole, nativeEnumName: 'organisation_role' })
  role!: OrganisationRole;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  dateJoined: Date = new Date();
}
