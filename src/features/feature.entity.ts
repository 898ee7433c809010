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
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { UserGroup } from '../groups/user-group.entity';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { Tag } from '../projects/tag.entity';
import { newUuid } from '../shared/ids';
import { User } from '../users/user.entity';

export enum FeatureType {
  STANDARD = 'STANDARD',
  MULTIVARIATE = 'MULTIVARIATE',
}
registerEnumType(FeatureType, {
  name: 'FeatureType',
  description: 'MULTIVARIATE once the feature has multivariate options.',
});

/** Longest feature value Flagsmith accepts (FEATURE_VALUE_LIMIT). */
export const FEATURE_VALUE_LIMIT = 20_000;

@ObjectType({ description: 'A flag or remote-config value of a project.' })
@TypeRequires(permissionOn('VIEW_PROJECT', 'root'))
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

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  @Field()
  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Field(() => FeatureType)
  @Enum({ items: () => FeatureType, nativeEnumName: 'feature_type', default: FeatureType.STANDARD })
  type: FeatureType = FeatureType.STANDARD;

  @Field(() => String, {
    nullable: true,
    description: 'Value of the environment defaults created for this feature.',
  })
  @Property({ type: 'string', length: FEATURE_VALUE_LIMIT, nullable: true })
  initialValue?: string | null;

  @Field({ description: 'Whether environment defaults created for this feature start enabled.' })
  @Property({ type: 'boolean', default: false })
  defaultEnabled: boolean = false;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** Hidden in the UI only; archived features are still served to SDKs. */
  @Field({ description: 'Archived features are hidden in the UI but still served.' })
  @Property({ type: 'boolean', default: false })
  isArchived: boolean = false;

  /** Hidden from client-side keys. */
  @Field({ description: 'Hidden from client-side environment keys.' })
  @Property({ type: 'boolean', default: false })
  isServerKeyOnly: boolean = false;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @ManyToMany({ entity: () => Tag, pivotTable: 'feature_tags' })
  tags = new Collection<Tag>(this);

  @ManyToMany({ entity: () => User, pivotTable: 'feature_owners' })
  owners = new Collection<User>(this);

  @ManyToMany({ entity: () => UserGroup, pivotTable: 'feature_group_owners' })
  groupOwners = new Collection<UserGroup>(this);
}
