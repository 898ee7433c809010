import { IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Public } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { OrganisationApiKey } from './organisation-api-key.entity';

@InputType()
export class CreateOrganisationApiKeyInput {
  @Field(() => ID)
  organisationId!: string;

  @Field()
  @MaxLength(200)
  name!: string;

  @Field({
    defaultValue: true,
    description: 'Acts as an organisation admin; false: holds only the grants of `roleIds`.',
  })
  isAdmin!: boolean;

  @Field(() => [ID], { nullable: true, description: 'Roles whose grants a non-admin key holds.' })
  @IsOptional()
  roleIds?: string[] | null;

  @Field(() => Date, { nullable: true, description: 'After this the key is refused.' })
  @IsOptional()
  expiresAt?: Date | null;
}

/** A new key with its full text, returned once by `createOrganisationApiKey`. */
@ObjectType()
@TypeRequires(Public)
export class CreatedOrganisationApiKey {
  @Field({ description: 'Send as `Authorization: Api-Key <key>`. Shown only this once.' })
  key!: string;

  @Field(() => OrganisationApiKey)
  apiKey!: OrganisationApiKey;
}
