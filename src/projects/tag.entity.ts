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
import { Project } from './project.entity';

export enum TagType {
  NONE = 'NONE',
  STALE = 'STALE',
  GITHUB = 'GITHUB',
  UNHEALTHY = 'UNHEALTHY',
  GITLAB = 'GITLAB',
}

@Entity({ tableName: 'tags' })
@Unique({ properties: ['project', 'label'] })
export class Tag {
  [OptionalProps]?: 'color' | 'description' | 'isSystemTag' | 'isPermanent' | 'type';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  @Property({ type: 'string', length: 100 })
  label!: string;

  @Property({ type: 'string', length: 10, default: '#6837FC' })
  color: string = '#6837FC';

  @Property({ type: 'string', length: 512, nullable: true })
  description?: string | null;

  @Property({ type: 'boolean', default: false })
  isSystemTag: boolean = false;

  @Property({ type: 'boolean', default: false })
  isPermanent: boolean = false;

  @Enum({ items: () => TagType, nativeEnumName: 'tag_type', default: TagType.NONE })
  type: TagType = TagType.NONE;
}
