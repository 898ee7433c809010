import {
  ArrayType,
  Check,
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { Environment } from '../environments/environment.entity';
import { UserGroup } from '../groups/user-group.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Project } from '../projects/project.entity';
import { Role } from '../roles/role.entity';
import { User } from '../users/user.entity';
import type { GrantableKey } from './keys';

export enum GrantScope {
  ORGANISATION = 'ORGANISATION',
  PROJECT = 'PROJECT',
  ENVIRONMENT = 'ENVIRONMENT',
}

/**
 * A set of Flagsmith permission keys (plus the `admin` flag) held by a user, a group or a
 * role on an organisation, a project or an environment. `organisation` is always set (for
 * project and environment grants it is the enclosing one) so that grants of people who
 * have left the organisation can be ignored cheaply.
 */
@Entity({ tableName: 'permission_grants' })
@Check({
  name: 'permission_grants_one_holder',
  expression: 'num_nonnulls(user_id, group_id, role_id) = 1',
})
@Check({
  name: 'permission_grants_scope_target',
  expression:
    "(scope = 'ORGANISATION' and project_id is null and environment_id is null) or " +
    "(scope = 'PROJECT' and project_id is not null and environment_id is null) or " +
    "(scope = 'ENVIRONMENT' and project_id is not null and environment_id is not null)",
})
export class PermissionGrant {
  [OptionalProps]?: 'admin' | 'keys' | 'project' | 'environment' | 'user' | 'group' | 'role';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Enum({ items: () => GrantScope, nativeEnumName: 'grant_scope' })
  scope!: GrantScope;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @ManyToOne(() => Project, { nullable: true, deleteRule: 'cascade', index: true })
  project?: Rel<Project> | null;

  @ManyToOne(() => Environment, { nullable: true, deleteRule: 'cascade', index: true })
  environment?: Rel<Environment> | null;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'cascade', index: true })
  user?: Rel<User> | null;

  @ManyToOne(() => UserGroup, { nullable: true, deleteRule: 'cascade', index: true })
  group?: Rel<UserGroup> | null;

  @ManyToOne(() => Role, { nullable: true, deleteRule: 'cascade', index: true })
  role?: Rel<Role> | null;

  @Property({ type: 'boolean', default: false })
  admin: boolean = false;

  @Property({ type: ArrayType, columnType: 'text[]', default: '{}' })
  keys: GrantableKey[] = [];
}

/** A Django-style model permission (`view_user`, …) held by a user or an instance group. */
@Entity({ tableName: 'model_permission_grants' })
@Check({
  name: 'model_permission_grants_one_holder',
  expression: 'num_nonnulls(user_id, group_id) = 1',
})
export class ModelPermissionGrant {
  [OptionalProps]?: 'user' | 'group';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'cascade', index: true })
  user?: Rel<User> | null;

  @ManyToOne(() => UserGroup, { nullable: true, deleteRule: 'cascade', index: true })
  group?: Rel<UserGroup> | null;

  @Property({ type: 'string', length: 100 })
  codename!: string;
}
