import { type Holder, holderOf } from '../permissions/holders';
import { IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { NameField, OmittableNotNull } from '../shared/validation';

@InputType()
export class CreateRoleInput {
  @Field(() => ID)
  organisationId!: string;

  @Field()
  @NameField(200)
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;
}

@InputType()
export class UpdateRoleInput {
  @Field({ nullable: true })
  @OmittableNotNull()
  @NameField(200)
  name?: string;

  @Field(() => String, { nullable: true, description: 'Empty or null clears it.' })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;
}

@InputType({ description: 'Who a role is given to: exactly one of these.' })
export class RoleHolderInput {
  @Field(() => ID, { nullable: true, description: 'A member of the organisation.' })
  @IsOptional()
  userId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A group of the organisation.' })
  @IsOptional()
  groupId?: string | null;

  @Field(() => ID, { nullable: true, description: 'A (non-admin) API key of the organisation.' })
  @IsOptional()
  apiKeyId?: string | null;
}

export type RoleHolder = Holder<'user' | 'group' | 'apiKey'>;

export function roleHolderOf(input: RoleHolderInput, field: string): RoleHolder {
  return holderOf(input, ['user', 'group', 'apiKey'], field);
}
