import { IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { NameField, OmittableNotNull } from '../shared/validation';

@InputType()
export class CreateGroupInput {
  @Field(() => ID)
  organisationId!: string;

  @Field()
  @NameField(200)
  name!: string;

  @Field({
    defaultValue: false,
    description: 'New organisation members join this group automatically.',
  })
  isDefault!: boolean;

  @Field(() => String, { nullable: true, description: 'SSO group mapping.' })
  @IsOptional()
  @MaxLength(255)
  externalId?: string | null;
}

@InputType()
export class UpdateGroupInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(200)
  name?: string;

  @Field({ nullable: true })
  isDefault?: boolean;

  @Field(() => String, { nullable: true, description: 'Empty or null clears it.' })
  @IsOptional()
  @MaxLength(255)
  externalId?: string | null;
}
