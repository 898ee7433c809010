import { ArrayMaxSize, IsOptional, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { PageArgs } from '../shared/pagination';
import { NameField } from '../shared/validation';
import { TraitValueScalar, type TypedTraitValue } from './trait-value';

/** Most traits one write may name. */
export const MAX_TRAITS_PER_WRITE = 1000;

@InputType({ description: 'A trait to set; a null value deletes it (as Flagsmith does).' })
export class TraitInput {
  @Field({ description: '1–200 characters, case-sensitive.' })
  @NameField(200)
  key!: string;

  @Field(() => TraitValueScalar, { nullable: true })
  value?: TypedTraitValue | null;
}

@InputType()
export class CreateIdentityInput {
  @Field(() => ID)
  environmentId!: string;

  @Field({ description: 'Unique per environment; at most 2,000 characters.' })
  @NameField(2000)
  identifier!: string;

  @Field(() => [TraitInput], {
    defaultValue: [],
    description: 'Traits with a null value are ignored.',
  })
  @ArrayMaxSize(MAX_TRAITS_PER_WRITE)
  @ValidateNested({ each: true })
  traits!: TraitInput[];
}

@ArgsType()
export class IdentityListArgs extends PageArgs {
  @Field(() => ID)
  environmentId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the identifier.',
  })
  @IsOptional()
  @MaxLength(2000)
  search?: string | null;
}
