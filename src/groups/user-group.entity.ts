import {
  Entity,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Organisation } from '../organisations/organisation.entity';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { User } from '../users/user.entity';

/**
 * A group of users. Organisation groups (Flagsmith's UserPermissionGroup) hold
 * organisation/project/environment grants; instance groups (no organisation) hold model
 * permissions for the admin site, so an organisation admin can never grant those.
 */
@ObjectType({
  description: 'A group of organisation members; grants and roles given to it apply to them all.',
})
@TypeRequires(permissionOn('ORGANISATION_MEMBER', 'root'))
@Entity({ tableName: 'user_groups' })
@Unique({ properties: ['organisation', 'name'] })
export class UserGroup {
  [OptionalProps]?: 'isDefault' | 'externalId' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organisation, { nullable: true, deleteRule: 'cascade', index: true })
  organisation?: Rel<Organisation> | null;

  @Field()
  @Property({ type: 'string', length: 200 })
  name!: string;

  /** New organisation members join this group automatically. */
  @Field({ description: 'New organisation members join this group automatically.' })
  @Property({ type: 'boolean', default: false })
  isDefault: boolean = false;

  /** SSO group mapping. */
  @Field(() => String, { nullable: true, description: 'SSO group mapping.' })
  @Property({ type: 'string', length: 255, nullable: true })
  externalId?: string | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

/** Reached only through `UserGroup.members`, whose group's type requirement applies. */
@ObjectType('UserGroupMember', { description: "A user's membership of a group." })
@TypeRequires(Authenticated)
@Entity({ tableName: 'user_group_memberships' })
@Unique({ properties: ['group', 'user'] })
export class UserGroupMembership {
  [OptionalProps]?: 'groupAdmin';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => UserGroup, { deleteRule: 'cascade' })
  group!: Rel<UserGroup>;

  @ManyToOne(() => User, { deleteRule: 'cascade', index: true })
  user!: Rel<User>;

  /** May manage this group's membership. */
  @Field({ description: "May manage this group's membership." })
  @Property({ type: 'boolean', default: false })
  groupAdmin: boolean = false;
}
