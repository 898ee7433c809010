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
import { UserGroup } from '../groups/user-group.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
import { User } from '../users/user.entity';

/** A named set of grants within an organisation, assignable to users, groups and API keys. */
@Entity({ tableName: 'roles' })
@Unique({ properties: ['organisation', 'name'] })
export class Role {
  [OptionalProps]?: 'description' | 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

@Entity({ tableName: 'role_assignments' })
@Check({
  name: 'role_assignments_one_holder',
  expression: 'num_nonnulls(user_id, group_id, api_key_id) = 1',
})
export class RoleAssignment {
  [OptionalProps]?: 'user' | 'group' | 'apiKey';

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
