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
import { Feature } from '../features/feature.entity';
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

/** Longest condition value Flagsmith accepts (SEGMENT_CONDITION_VALUE_LIMIT). */
export const SEGMENT_CONDITION_VALUE_LIMIT = 1000;

@Entity({ tableName: 'segments' })
export class Segment {
  [OptionalProps]?: 'uuid' | 'description' | 'feature' | 'importedId' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'uuid', unique: true })
  uuid: string = newUuid();

  @ManyToOne(() => Project, { deleteRule: 'cascade', index: true })
  project!: Rel<Project>;

  /** Set: a feature-specific segment, usable only for that feature. */
  @ManyToOne(() => Feature, { nullable: true, deleteRule: 'cascade', index: true })
  feature?: Rel<Feature> | null;

  @Property({ type: 'string', length: 2000 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /**
   * The id this segment had in the Flagsmith instance it was imported from. Percentage
   * splits hash the segment's id, so documents keep showing this one: identities stay in
   * the same buckets after a migration.
   */
  @Property({ type: 'integer', nullable: true })
  importedId?: number | null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

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

@Entity({ tableName: 'segment_conditions' })
export class SegmentCondition {
  [OptionalProps]?: 'property' | 'value' | 'description' | 'position';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne(() => SegmentRule, { deleteRule: 'cascade', index: true })
  rule!: Rel<SegmentRule>;

  @Enum({ items: () => ConditionOperator, nativeEnumName: 'condition_operator' })
  operator!: ConditionOperator;

  @Property({ type: 'string', length: 1000, nullable: true })
  property?: string | null;

  @Property({ type: 'string', length: SEGMENT_CONDITION_VALUE_LIMIT, nullable: true })
  value?: string | null;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Property({ type: 'integer', default: 0 })
  position: number = 0;
}
