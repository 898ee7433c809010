import { ArrayMaxSize, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { listArgs, OrderDirection, SearchFilter } from '../shared/cursor';
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

export const IdentityOrderField = { ID: 'ID', IDENTIFIER: 'IDENTIFIER' } as const;
export type IdentityOrderField = keyof typeof IdentityOrderField;

@ArgsType()
export class IdentityListArgs extends listArgs(
  'Identity',
  IdentityOrderField,
  { field: 'ID', direction: OrderDirection.ASC },
  { ID: 'Creation order.', IDENTIFIER: 'By identifier.' },
  { type: SearchFilter, description: 'Narrows the list: `search` matches the identifier.' },
) {
  @Field(() => ID)
  environmentId!: string;
}
