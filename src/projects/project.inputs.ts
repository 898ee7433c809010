import { IsOptional, Max, MaxLength, Min } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { NameField, OmittableNotNull } from '../shared/validation';

@InputType()
class ProjectSettingsInput {
  @Field({ nullable: true })
  hideDisabledFlags?: boolean;

  @Field({ nullable: true })
  preventFlagDefaults?: boolean;

  @Field({ nullable: true })
  enforceFeatureOwners?: boolean;

  @Field({ nullable: true })
  enableRealtimeUpdates?: boolean;

  @Field({ nullable: true })
  onlyAllowLowerCaseFeatureNames?: boolean;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(255)
  featureNameRegex?: string | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1)
  @Max(3650)
  staleFlagsLimitDays?: number;
}

@InputType()
export class CreateProjectInput extends ProjectSettingsInput {
  @Field(() => ID)
  organisationId!: string;

  @Field()
  @NameField(2000)
  name!: string;
}

@InputType()
export class UpdateProjectInput extends ProjectSettingsInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(2000)
  name?: string;
}

export const PROJECT_SETTING_KEYS = [
  'hideDisabledFlags',
  'preventFlagDefaults',
  'enforceFeatureOwners',
  'enableRealtimeUpdates',
  'onlyAllowLowerCaseFeatureNames',
  'featureNameRegex',
  'staleFlagsLimitDays',
] as const satisfies readonly (keyof ProjectSettingsInput)[];
