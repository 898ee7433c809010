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
import { Project } from './project.entity';

export enum TagType {
  NONE = 'NONE',
  STALE = 'STALE',
  GITHUB = 'GITHUB',
  UNHEALTHY = 'UNHEALTHY',
  GITLAB = 'GITLAB',
}
registerEnumType(TagType, { name: 'TagType' });

@ObjectType({ description: "A label for grouping a project's features." })
@TypeRequires(permissionOn('VIEW_PROJECT', 'root'))
@Entity({ tableName: 'tags' })
@Unique({ properties: ['project', 'label'] })
export class Tag {
  [OptionalProps]?: 'color' | 'description' | 'isSystemTag' | 'isPermanent' | 'type';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  @Field()
  @Property({ type: 'string', length: 100 })
  label!: string;

  @Field()
  @Property({ type: 'string', length: 10, default: '#6837FC' })
  color: string = '#6837FC';

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 512, nullable: true })
  description?: string | null;

  @Property({ type: 'boolean', default: false })
  isSystemTag: boolean = false;

  @Field({ description: 'Excluded from stale-flag detection.' })
  @Property({ type: 'boolean', default: false })
  isPermanent: boolean = false;

  @Field(() => TagType)
  @Enum({ items: () => TagType, nativeEnumName: 'tag_type', default: TagType.NONE })
  type: TagType = TagType.NONE;
}
