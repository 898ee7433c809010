import { ArrayMaxSize, IsEmail, IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { NamedListArgs } from '../shared/named-list';
import { NameField, OmittableNotNull } from '../shared/validation';
import { LoginMethod } from '../users/login-method';
import { OrganisationRole } from './membership.entity';

/** A list of an organisation's named records (groups, roles, API keys). */
@ArgsType()
export class OrganisationListArgs extends NamedListArgs {
  @Field(() => ID)
  organisationId!: string;
}

@InputType()
export class CreateOrganisationInput {
  @Field()
  @NameField(2000)
  name!: string;
}

@InputType()
export class UpdateOrganisationInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(2000)
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsEmail({}, { message: '$property must be an email address' })
  @MaxLength(254)
  webhookNotificationEmail?: string | null;

  @Field({ nullable: true })
  restrictProjectCreateToAdmin?: boolean;

  @Field({ nullable: true })
  persistTraitData?: boolean;

  @Field({ nullable: true })
  stopServingFlags?: boolean;

  @Field({ nullable: true })
  featureAnalytics?: boolean;

  @Field({
    nullable: true,
    description:
      'Members must turn on two-factor sign-in before they can reach the organisation (yours must be on to set this).',
  })
  force2fa?: boolean;

  @Field(() => [LoginMethod], {
    nullable: true,
    description:
      'The login methods members may use; empty allows all. Must include the method of your own session.',
  })
  @IsOptional()
  @ArrayMaxSize(3)
  allowedLoginMethods?: LoginMethod[] | null;
}

@InputType()
export class AddMemberInput {
  @Field(() => ID)
  organisationId!: string;

  @Field()
  @IsEmail({}, { message: '$property must be an email address' })
  email!: string;

  @Field(() => OrganisationRole, { defaultValue: OrganisationRole.USER })
  role!: OrganisationRole;
}

@InputType()
export class UpdateMemberInput {
  @Field(() => ID)
  organisationId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => OrganisationRole)
  role!: OrganisationRole;
}
