import {
  Check,
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Feature } from '../features/feature.entity';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { newUuid } from '../shared/ids';

export enum RuleType {
  ALL = 'ALL',
  ANY = 'ANY',
  NONE = 'NONE',
}

/** The 14 condition operators of Flagsmith's engine (shared/spec/evaluation.md §3.2). */
export enum ConditionOperator {
  EQUAL = 'EQUAL',
  GREATER_THAN = 'GREATER_THAN',
  LESS_THAN = 'LESS_THAN',
  LESS_THAN_INCLUSIVE = 'LESS_THAN_INCLUSIVE',
  CONTAINS = 'CONTAINS',
  GREATER_THAN_INCLUSIVE = 'GREATER_THAN_INCLUSIVE',
  NOT_CONTAINS = 'NOT_CONTAINS',
  NOT_EQUAL = 'NOT_EQUAL',
  REGEX = 'REGEX',
  PERCENTAGE_SPLIT = 'PERCENTAGE_SPLIT',
  MODULO = 'MODULO',
  IS_SET = 'IS_SET',
  IS_NOT_SET = 'IS_NOT_SET',
  IN = 'IN',
}

registerEnumType(RuleType, {
  name: 'RuleType',
  description: 'How a rule combines its conditions and sub-rules: all, any or none true.',
});
registerEnumType(ConditionOperator, { name: 'ConditionOperator' });

/** Longest condition value Flagsmith accepts (SEGMENT_CONDITION_VALUE_LIMIT). */
export const SEGMENT_CONDITION_VALUE_LIMIT = 1000;

@ObjectType({ description: 'A set of identities defined by rules over their traits.' })
@TypeRequires(permissionOn('VIEW_PROJECT', 'root'))
@Entity({ tableName: 'segments' })
export class Segment {
  [OptionalProps]?: 'uuid' | 'description' | 'feature' | 'importedId' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field()
  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  /** Set: a feature-specific segment, usable only for that feature. */
  @ManyToOne(() => Feature, { nullable: true, deleteRule: 'cascade', index: true })
  feature?: Rel<Feature> | null;

  @Field()
  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /**
   * The id this segment had in the Flagsmith instance it was imported from. Percentage
   * splits hash the segment's id, so documents keep showing this one: identities stay in
   * the same buckets after a migration.
   */
  @Property({ type: 'integer', nullable: true })
  importedId?: number | null;

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field()
  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

/** A rule belongs to a segment (top level) or to a parent rule (nested). */
@Entity({ tableName: 'segment_rules' })
@Check({
  name: 'segment_rules_one_parent',
  expression: 'num_nonnulls(segment_id, parent_rule_id) = 1',
})
export class SegmentRule {
  [OptionalProps]?: 'segment' | 'parentRule' | 'position';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => Segment, { nullable: true, deleteRule: 'cascade', index: true })
  segment?: Rel<Segment> | null;

  @ManyToOne(() => SegmentRule, { nullable: true, deleteRule: 'cascade', index: true })
  parentRule?: Rel<SegmentRule> | null;

  @Enum({ items: () => RuleType, nativeEnumName: 'rule_type' })
  type!: RuleType;

  /** Order among siblings. */
  @Property({ type: 'integer', default: 0 })
  position: number = 0;
}

/** Read through its segment, which is checked first. */
@ObjectType('Condition', { description: 'A test of one trait (or context value) of an identity.' })
@TypeRequires(Authenticated)
@Entity({ tableName: 'segment_conditions' })
export class SegmentCondition {
  [OptionalProps]?: 'property' | 'value' | 'description' | 'position';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => SegmentRule, { deleteRule: 'cascade', index: true })
  rule!: Rel<SegmentRule>;

  @Field(() => ConditionOperator)
  @Enum({ items: () => ConditionOperator, nativeEnumName: 'condition_operator' })
  operator!: ConditionOperator;

  @Field(() => String, {
    nullable: true,
    description: 'A trait name or a `$.` JSONPath; empty for a percentage split of identities.',
  })
  @Property({ type: 'string', length: 1000, nullable: true })
  property?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: SEGMENT_CONDITION_VALUE_LIMIT, nullable: true })
  value?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Property({ type: 'integer', default: 0 })
  position: number = 0;
}

/** A rule as the API shows it: its conditions and sub-rules, in order. */
@ObjectType('SegmentRule', {
  description:
    'Matches when its conditions, and its sub-rules, satisfy its type (top-level rules are all required).',
})
@TypeRequires(Authenticated)
export class SegmentRuleNode {
  @Field(() => RuleType)
  type!: RuleType;

  @Field(() => [SegmentCondition])
  conditions!: SegmentCondition[];

  @Field(() => [SegmentRuleNode])
  rules!: SegmentRuleNode[];
}
