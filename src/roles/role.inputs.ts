import { IsOptional, MaxLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { NameField } from '../shared/validation';

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
  @IsOptional()
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

export type RoleHolder =
  | { readonly kind: 'user'; readonly id: number }
  | { readonly kind: 'group'; readonly id: number }
  | { readonly kind: 'apiKey'; readonly id: number };

export function roleHolderOf(input: RoleHolderInput, field: string): RoleHolder {
  const given = (['userId', 'groupId', 'apiKeyId'] as const).filter((k) => input[k] != null);
  if (given.length !== 1)
    throw new ValidationError(field, 'name exactly one of userId, groupId and apiKeyId');
  const key = given[0]!;
  const id = parseId(input[key], `${field}.${key}`);
  return key === 'userId'
    ? { kind: 'user', id }
    : key === 'groupId'
      ? { kind: 'group', id }
      : { kind: 'apiKey', id };
}
