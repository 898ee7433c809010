import { Max, Min } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';

/** Offset pagination for admin lists: `limit` (1–100, default 50) rows after `offset`. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 50 })
  @Min(1, { message: '$property must be at least 1' })
  @Max(100, { message: '$property must be at most 100' })
  limit!: number;

  @Field(() => Int, { defaultValue: 0 })
  @Min(0, { message: '$property must not be negative' })
  offset!: number;
}
