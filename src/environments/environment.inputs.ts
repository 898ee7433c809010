import { IsOptional, Matches, MaxLength, MinDate } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Public } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { NameField, OmittableNotNull } from '../shared/validation';
import { ServerSideKey } from './server-side-key.entity';

@InputType()
class EnvironmentSettingsInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(20000)
  description?: string | null;

  @Field({ nullable: true })
  allowClientTraits?: boolean;

  @Field(() => Boolean, { nullable: true, description: 'null follows the project setting' })
  hideDisabledFlags?: boolean | null;

  @Field({ nullable: true })
  hideSensitiveData?: boolean;

  @Field({ nullable: true })
  useIdentityCompositeKeyForHashing?: boolean;

  @Field({ nullable: true })
  useIdentityOverridesInLocalEval?: boolean;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(255)
  bannerText?: string | null;

  @Field(() => String, { nullable: true, description: 'Hex colour, e.g. #FF0000' })
  @IsOptional()
  @Matches(/^#[0-9a-fA-F]{6}$/, { message: '$property must be a hex colour such as #FF0000' })
  bannerColour?: string | null;
}

export const ENVIRONMENT_SETTING_KEYS = [
  'description',
  'allowClientTraits',
  'hideDisabledFlags',
  'hideSensitiveData',
  'useIdentityCompositeKeyForHashing',
  'useIdentityOverridesInLocalEval',
  'bannerText',
  'bannerColour',
] as const satisfies readonly (keyof EnvironmentSettingsInput)[];

export const NULLABLE_ENVIRONMENT_SETTINGS = [
  'description',
  'hideDisabledFlags',
  'bannerText',
  'bannerColour',
] as const;

@InputType()
export class CreateEnvironmentInput extends EnvironmentSettingsInput {
  @Field(() => ID)
  projectId!: string;

  @Field()
  @NameField(2000)
  name!: string;
}

@InputType()
export class UpdateEnvironmentInput extends EnvironmentSettingsInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(2000)
  name?: string;
}

@InputType()
export class CreateServerSideKeyInput {
  @Field(() => ID)
  environmentId!: string;

  @Field()
  @NameField(100)
  name!: string;

  @Field(() => Date, { nullable: true })
  @IsOptional()
  @MinDate(() => new Date(), { message: '$property must be in the future' })
  expiresAt?: Date | null;
}

@InputType()
export class UpdateServerSideKeyInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(100)
  name?: string;

  @Field({ nullable: true })
  active?: boolean;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;
}

@ObjectType({ description: 'A new server-side key. `key` is shown only here, once.' })
@TypeRequires(Public)
export class CreatedServerSideKey {
  @Field()
  key!: string;

  @Field(() => ServerSideKey)
  serverSideKey!: ServerSideKey;
}
