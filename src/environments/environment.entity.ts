import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { newUuid, shortUuid } from '../shared/ids';

@ObjectType()
@TypeRequires(permissionOn('VIEW_ENVIRONMENT', 'root'))
@Entity({ tableName: 'environments' })
export class Environment {
  [OptionalProps]?:
    | 'uuid'
    | 'apiKey'
    | 'description'
    | 'allowClientTraits'
    | 'hideDisabledFlags'
    | 'hideSensitiveData'
    | 'useIdentityCompositeKeyForHashing'
    | 'useIdentityOverridesInLocalEval'
    | 'bannerText'
    | 'bannerColour'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @Field()
  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  /** The public client-side key (embedded in browser apps). */
  @Field()
  @Property({ type: 'string', length: 100, unique: true })
  apiKey: string = shortUuid();

  @Field()
  @Property({ type: 'boolean', default: true })
  allowClientTraits: boolean = true;

  /** Tri-state: null follows the project's setting. */
  @Field(() => Boolean, { nullable: true })
  @Property({ type: 'boolean', nullable: true })
  hideDisabledFlags?: boolean | null;

  @Field()
  @Property({ type: 'boolean', default: false })
  hideSensitiveData: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  useIdentityCompositeKeyForHashing: boolean = true;

  @Field()
  @Property({ type: 'boolean', default: true })
  useIdentityOverridesInLocalEval: boolean = true;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 255, nullable: true })
  bannerText?: string | null;

  /** Hex colour such as `#FF0000`. */
  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 7, nullable: true })
  bannerColour?: string | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** Bumped by every change that affects what SDKs see. */
  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
