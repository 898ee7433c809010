import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Organisation } from '../organisations/organisation.entity';
import { permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { newUuid } from '../shared/ids';

@ObjectType()
@TypeRequires(permissionOn('VIEW_PROJECT', 'root'))
@Entity({ tableName: 'projects' })
export class Project {
  [OptionalProps]?:
    | 'uuid'
    | 'createdAt'
    | 'hideDisabledFlags'
    | 'preventFlagDefaults'
    | 'enforceFeatureOwners'
    | 'enableRealtimeUpdates'
    | 'onlyAllowLowerCaseFeatureNames'
    | 'featureNameRegex'
    | 'maxSegmentsAllowed'
    | 'maxFeaturesAllowed'
    | 'maxSegmentOverridesAllowed'
    | 'staleFlagsLimitDays';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @Field()
  @Property({ type: 'string', length: 2000 })
  name!: string;

  @ManyToOne(() => Organisation, { deleteRule: 'cascade', index: true })
  organisation!: Rel<Organisation>;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'boolean', default: false })
  hideDisabledFlags: boolean = false;

  /** New features start disabled with no value in every environment. */
  @Field()
  @Property({ type: 'boolean', default: false })
  preventFlagDefaults: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: false })
  enforceFeatureOwners: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: false })
  enableRealtimeUpdates: boolean = false;

  @Field()
  @Property({ type: 'boolean', default: true })
  onlyAllowLowerCaseFeatureNames: boolean = true;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 255, nullable: true })
  featureNameRegex?: string | null;

  @Field(() => Int)
  @Property({ type: 'integer', default: 500 })
  maxSegmentsAllowed: number = 500;

  @Field(() => Int)
  @Property({ type: 'integer', default: 1000 })
  maxFeaturesAllowed: number = 1000;

  @Field(() => Int)
  @Property({ type: 'integer', default: 2000 })
  maxSegmentOverridesAllowed: number = 2000;

  @Field(() => Int)
  @Property({ type: 'integer', default: 30 })
  staleFlagsLimitDays: number = 30;
}
