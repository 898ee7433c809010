import { permissionOn } from '../permissions/requirement';
import { WritableBy } from '../permissions/requires.decorator';
import {
  ArrayMaxSize,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ArgsType, Field, Float, ID, InputType } from 'type-graphql';
import { listArgs, OrderDirection, SearchFilter } from '../shared/cursor';
import { NameField, OmittableNotNull } from '../shared/validation';
import { FEATURE_VALUE_LIMIT } from './feature.entity';
import type { FlagValue } from './feature-value';
import { FlagValueScalar } from './flag-value.scalar';

/** Variant keys: lower-case slugs; `control` names the environment value and is reserved. */
export const VARIANT_KEY = /^(?!control$)[a-z0-9][a-z0-9_-]{0,99}$/;

@InputType()
export class MultivariateOptionInput {
  @Field(() => String, {
    nullable: true,
    description: 'Slug, unique per feature (not "control"); generated when omitted.',
  })
  @IsOptional()
  @Matches(VARIANT_KEY, {
    message: '$property must be a lower-case slug (a-z, 0-9, - and _), not "control"',
  })
  key?: string | null;

  @Field(() => FlagValueScalar)
  value!: FlagValue;

  @Field(() => Float, { defaultValue: 0 })
  @Min(0, { message: '$property must be between 0 and 100' })
  @Max(100, { message: '$property must be between 0 and 100' })
  defaultPercentageAllocation!: number;
}

@InputType()
export class UpdateMultivariateOptionInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(VARIANT_KEY, {
    message: '$property must be a lower-case slug (a-z, 0-9, - and _), not "control"',
  })
  key?: string;

  @Field(() => FlagValueScalar, { nullable: true })
  value?: FlagValue;

  @Field(() => Float, { nullable: true })
  @IsOptional()
  @Min(0, { message: '$property must be between 0 and 100' })
  @Max(100, { message: '$property must be between 0 and 100' })
  defaultPercentageAllocation?: number;
}

@InputType()
export class CreateFeatureInput {
  @Field(() => ID)
  projectId!: string;

  @Field()
  @NameField(2000)
  name!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Typed like Flagsmith: an integer or true/false string becomes that type.',
  })
  @IsOptional()
  @MaxLength(FEATURE_VALUE_LIMIT)
  initialValue?: string | null;

  @Field({ defaultValue: false })
  defaultEnabled!: boolean;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(20_000)
  description?: string | null;

  @Field({ defaultValue: false })
  isServerKeyOnly!: boolean;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  tagIds?: string[];

  @Field(() => [ID], {
    nullable: true,
    description: 'Users who own the feature; the creator when omitted.',
  })
  @IsOptional()
  @ArrayMaxSize(100)
  @WritableBy(permissionOn('PROJECT_ADMIN', { arg: 'input.projectId', type: 'project' }))
  ownerIds?: string[];

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @WritableBy(permissionOn('PROJECT_ADMIN', { arg: 'input.projectId', type: 'project' }))
  groupOwnerIds?: string[];

  @Field(() => [MultivariateOptionInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  multivariateOptions?: MultivariateOptionInput[];
}

@InputType()
export class UpdateFeatureInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(2000)
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(FEATURE_VALUE_LIMIT)
  initialValue?: string | null;

  @Field({ nullable: true })
  defaultEnabled?: boolean;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(20_000)
  description?: string | null;

  @Field({ nullable: true, description: 'Archive (true) or restore (false).' })
  isArchived?: boolean;

  @Field({ nullable: true })
  isServerKeyOnly?: boolean;

  @Field(() => [ID], { nullable: true, description: 'Replaces the tags.' })
  @IsOptional()
  @ArrayMaxSize(100)
  tagIds?: string[];

  @Field(() => [ID], { nullable: true, description: 'Replaces the owners.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @WritableBy(permissionOn('PROJECT_ADMIN', { arg: 'id', type: 'feature' }))
  ownerIds?: string[];

  @Field(() => [ID], { nullable: true, description: 'Replaces the group owners.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @WritableBy(permissionOn('PROJECT_ADMIN', { arg: 'id', type: 'feature' }))
  groupOwnerIds?: string[];
}

@InputType({ description: 'Narrows a list of features; every field given must hold.' })
export class FeatureFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' })
  @IsOptional()
  @MaxLength(200)
  search?: string | null;

  @Field(() => [ID], { nullable: true, description: 'Only features carrying all these tags.' })
  @IsOptional()
  @ArrayMaxSize(100)
  tagIds?: string[] | null;

  @Field({ defaultValue: false, description: 'Archived features too.' })
  includeArchived!: boolean;
}

export const FeatureOrderField = { ID: 'ID', NAME: 'NAME' } as const;
export type FeatureOrderField = keyof typeof FeatureOrderField;

@ArgsType()
export class FeatureListArgs extends listArgs(
  'Feature',
  FeatureOrderField,
  { field: 'ID', direction: OrderDirection.ASC },
  { ID: 'Creation order.', NAME: 'By name.' },
  { type: FeatureFilter },
) {
  @Field(() => ID)
  projectId!: string;
}

export const FeatureStateOrderField = {
  FEATURE_ID: 'FEATURE_ID',
  FEATURE_NAME: 'FEATURE_NAME',
} as const;
export type FeatureStateOrderField = keyof typeof FeatureStateOrderField;

@InputType({ description: 'Narrows a list of feature states; every field given must hold.' })
export class FeatureStateFilter {
  @Field(() => [ID], { nullable: true, description: 'Only the states of these features.' })
  @IsOptional()
  @ArrayMaxSize(100)
  featureIds?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'Only states on (true) or off (false).' })
  enabled?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description: "Case-insensitive substring of the feature's name.",
  })
  @IsOptional()
  @MaxLength(200)
  search?: string | null;
}

@ArgsType()
export class FeatureStateListArgs extends listArgs(
  'FeatureState',
  FeatureStateOrderField,
  { field: 'FEATURE_ID', direction: OrderDirection.ASC },
  { FEATURE_ID: "The features' creation order.", FEATURE_NAME: "By the feature's name." },
  { type: FeatureStateFilter },
) {
  @Field(() => ID)
  environmentId!: string;
}

export const TagOrderField = { LABEL: 'LABEL', ID: 'ID' } as const;
export type TagOrderField = keyof typeof TagOrderField;

@ArgsType()
export class TagListArgs extends listArgs(
  'Tag',
  TagOrderField,
  { field: 'LABEL', direction: OrderDirection.ASC },
  { LABEL: 'By label.', ID: 'Creation order.' },
  { type: SearchFilter, description: 'Narrows the list: `search` matches the label.' },
) {
  @Field(() => ID)
  projectId!: string;
}

@InputType()
export class AllocationInput {
  @Field(() => ID)
  optionId!: string;

  @Field(() => Float)
  @Min(0, { message: '$property must be between 0 and 100' })
  @Max(100, { message: '$property must be between 0 and 100' })
  percentageAllocation!: number;
}

@InputType({ description: 'Leave a field out to keep its current value.' })
export class FeatureStateInput {
  @Field({ nullable: true })
  enabled?: boolean;

  @Field(() => FlagValueScalar, { nullable: true })
  value?: FlagValue;

  @Field(() => [AllocationInput], {
    nullable: true,
    description: 'Shares of the listed multivariate options (others keep theirs); sum ≤ 100.',
  })
  @IsOptional()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  multivariateAllocations?: AllocationInput[];
}

@InputType({ description: "A change of one feature's default state in one environment." })
export class FeatureStateChangeInput extends FeatureStateInput {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => ID)
  featureId!: string;
}

@InputType()
export class CreateTagInput {
  @Field(() => ID)
  projectId!: string;

  @Field()
  @NameField(100)
  label!: string;

  @Field({ defaultValue: '#6837FC' })
  @Matches(/^#[0-9a-fA-F]{6}$/, { message: '$property must be a colour like #6837FC' })
  color!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(512)
  description?: string | null;

  @Field({ defaultValue: false })
  isPermanent!: boolean;
}

@InputType()
export class UpdateTagInput {
  @Field({ nullable: true })
  @IsOptional()
  @NameField(100)
  label?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Matches(/^#[0-9a-fA-F]{6}$/, { message: '$property must be a colour like #6837FC' })
  color?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(512)
  description?: string | null;

  @Field({ nullable: true })
  isPermanent?: boolean;
}
