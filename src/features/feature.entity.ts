import {
  Collection,
  Entity,
  Enum,
  ManyToMany,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { UserGroup } from '../groups/user-group.entity';
import { Project } from '../projects/project.entity';
import { Tag } from '../projects/tag.entity';
import { newUuid } from '../shared/ids';
import { User } from '../users/user.entity';

export enum FeatureType {
  STANDARD = 'STANDARD',
  MULTIVARIATE = 'MULTIVARIATE',
}

/** Longest feature value Flagsmith accepts (FEATURE_VALUE_LIMIT). */
export const FEATURE_VALUE_LIMIT = 20_000;

@Entity({ tableName: 'features' })
@Unique({
  name: 'features_project_name_ci_unique',
  expression:
    'create unique index "features_project_name_ci_unique" on "features" ("project_id", lower("name"))',
})
export class Feature {
  [OptionalProps]?:
    | 'uuid'
    | 'type'
    | 'initialValue'
    | 'defaultEnabled'
    | 'description'
    | 'isArchived'
    | 'isServerKeyOnly'
    | 'createdAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Enum({ items: () => FeatureType, nativeEnumName: 'feature_type', default: FeatureType.STANDARD })
  type: FeatureType = FeatureType.STANDARD;

  @Property({ type: 'string', length: FEATURE_VALUE_LIMIT, nullable: true })
  initialValue?: string | null;

  @Property({ type: 'boolean', default: false })
  defaultEnabled: boolean = false;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** Hidden in the UI only; archived features are still served to SDKs. */
  @Property({ type: 'boolean', default: false })
  isArchived: boolean = false;

  /** Hidden from client-side keys. */
  @Property({ type: 'boolean', default: false })
  isServerKeyOnly: boolean = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @ManyToMany({ entity: () => Tag, pivotTable: 'feature_tags' })
  tags = new Collection<Tag>(this);

  @ManyToMany({ entity: () => User, pivotTable: 'feature_owners' })
  owners = new Collection<User>(this);

  @ManyToMany({ entity: () => UserGroup, pivotTable: 'feature_group_owners' })
  groupOwners = new Collection<UserGroup>(this);
}
