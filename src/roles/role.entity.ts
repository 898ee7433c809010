import {
  Check,
  Entity,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { UserGroup } from '../groups/user-group.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { User } from '../users/user.entity';

/** A named set of grants within an organisation, assignable to users, groups and API keys. */
@ObjectType({
  description:
    'A named set of grants in an organisation, assigned to users, groups and API keys. Members see its name; its grants and assignments are for organisation admins.',
})
@TypeRequires(permissionOn('ORGANISATION_MEMBER', 'root'))
@Entity({ tableName: 'roles' })
@Unique({ properties: ['organisation', 'name'] })
export class Role {
  [OptionalProps]?: 'description' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Field()
  @Property({ type: 'string', length: 200 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

/** Reached only through `Role.assignments` (organisation admins). */
@ObjectType({ description: 'A role given to one user, group or organisation API key.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'role_assignments' })
@Check({
  name: 'role_assignments_one_holder',
  expression: 'num_nonnulls(user_id, group_id, api_key_id) = 1',
})
export class RoleAssignment {
  [OptionalProps]?: 'user' | 'group' | 'apiKey';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Role, { deleteRule: 'cascade', index: true })
  role!: Rel<Role>;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'cascade', index: true })
  user?: Rel<User> | null;

  @ManyToOne(() => UserGroup, { nullable: true, deleteRule: 'cascade', index: true })
  group?: Rel<UserGroup> | null;

  @ManyToOne(() => OrganisationApiKey, { nullable: true, deleteRule: 'cascade', index: true })
  apiKey?: Rel<OrganisationApiKey> | null;
}
