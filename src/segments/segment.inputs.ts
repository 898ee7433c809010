import { ArrayMaxSize, IsOptional, MaxLength, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { AllocationInput, FeatureStateInput } from '../features/feature.inputs';
import type { FlagValue } from '../features/feature-value';
import { FlagValueScalar } from '../features/flag-value.scalar';
import { listArgs, OrderDirection } from '../shared/cursor';
import { NamedListArgs } from '../shared/named-list';
import { NameField, OmittableNotNull } from '../shared/validation';
import { MAX_CONDITIONS, PROPERTY_LIMIT } from './condition-rules';
import { ConditionOperator, RuleType, SEGMENT_CONDITION_VALUE_LIMIT } from './segment.entity';

@InputType({ description: 'One condition; what `value` must look like depends on the operator.' })
export class ConditionInput {
  @Field(() => ConditionOperator)
  operator!: ConditionOperator;

  @Field(() => String, {
    nullable: true,
    description: 'A trait name or a `$.` JSONPath; required except for PERCENTAGE_SPLIT.',
  })
  @IsOptional()
  @MaxLength(PROPERTY_LIMIT, { message: `$property must be at most ${PROPERTY_LIMIT} characters` })
  property?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'PERCENTAGE_SPLIT: 0–100; MODULO: "divisor|remainder"; IN: "a,b,c" or a JSON array of strings; ' +
      'IS_SET/IS_NOT_SET: none; comparisons: a string, "1.2.3:semver" to compare versions; REGEX: an RE2 pattern.',
  })
  @IsOptional()
  @MaxLength(SEGMENT_CONDITION_VALUE_LIMIT, {
    message: `$property must be at most ${SEGMENT_CONDITION_VALUE_LIMIT} characters`,
  })
  value?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000, { message: '$property must be at most 2000 characters' })
  description?: string | null;
}

@InputType({ description: 'A rule: its conditions and sub-rules, combined by its type.' })
export class RuleInput {
  @Field(() => RuleType)
  type!: RuleType;

  @Field(() => [ConditionInput], { defaultValue: [] })
  @ArrayMaxSize(MAX_CONDITIONS)
  @ValidateNested({ each: true })
  conditions!: ConditionInput[];

  @Field(() => [RuleInput], { defaultValue: [] })
  @ArrayMaxSize(MAX_CONDITIONS)
  @ValidateNested({ each: true })
  rules!: RuleInput[];
}

@InputType()
export class CreateSegmentInput {
  @Field(() => ID)
  projectId!: string;

  @Field()
  @NameField(2000)
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(20_000, { message: '$property must be at most 20000 characters' })
  description?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Makes the segment specific to this feature: usable only for its overrides.',
  })
  featureId?: string | null;

  @Field(() => [RuleInput], {
    description:
      'Top-level rules, all of which must match (a segment without rules matches no one).',
  })
  @ArrayMaxSize(MAX_CONDITIONS)
  @ValidateNested({ each: true })
  rules!: RuleInput[];
}

@InputType({ description: 'Leave a field out to keep its current value.' })
export class UpdateSegmentInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(2000)
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(20_000, { message: '$property must be at most 20000 characters' })
  description?: string | null;

  @Field(() => [RuleInput], { nullable: true, description: 'Replaces all the rules.' })
  @IsOptional()
  @ArrayMaxSize(MAX_CONDITIONS)
  @ValidateNested({ each: true })
  rules?: RuleInput[];
}

@ArgsType()
export class SegmentListArgs extends NamedListArgs {
  @Field(() => ID)
  projectId!: string;
}

export const SegmentOverrideOrderField = { PRIORITY: 'PRIORITY', ID: 'ID' } as const;
export type SegmentOverrideOrderField = keyof typeof SegmentOverrideOrderField;

@ArgsType()
export class SegmentOverrideListArgs extends listArgs(
  'SegmentOverride',
  SegmentOverrideOrderField,
  { field: 'PRIORITY', direction: OrderDirection.ASC },
  { PRIORITY: 'Strongest (priority 0) first when ascending.', ID: 'Creation order.' },
) {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID)
  featureId!: string;
}

@InputType()
export class CreateSegmentOverrideInput {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID)
  featureId!: string;

  @Field(() => ID, { description: "A segment of the environment's project." })
  segmentId!: string;

  @Field({ defaultValue: false })
  enabled!: boolean;

  @Field(() => FlagValueScalar, { nullable: true })
  value?: FlagValue;

  @Field(() => Int, {
    nullable: true,
    description: "Where it goes among the feature's overrides (0 = first); last when omitted.",
  })
  @IsOptional()
  @Min(0, { message: '$property must not be negative' })
  priority?: number | null;

  @Field(() => [AllocationInput], {
    nullable: true,
    description: 'Shares of multivariate options for identities in the segment; sum ≤ 100.',
  })
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  multivariateAllocations?: AllocationInput[];
}

@InputType({ description: 'Leave a field out to keep its current value.' })
export class UpdateSegmentOverrideInput extends FeatureStateInput {}
