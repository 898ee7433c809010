import { IsEmail, IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { NameField } from '../shared/validation';
import { OrganisationRole } from './membership.entity';

@InputType()
export class CreateOrganisationInput {
  @Field()
  @NameField(2000)
  name!: string;
}

@InputType()
export class UpdateOrganisationInput {
  @Field({ nullable: true })
  @IsOptional()
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
