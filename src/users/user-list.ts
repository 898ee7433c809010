import type { FilterQuery } from '@mikro-orm/core';
import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { byId, listArgs, OrderDirection, type SortKey } from '../shared/cursor';
import { containsText } from '../shared/search';
import type { User } from './user.entity';

/** Narrows a list of users (or of memberships, by their user). */
@InputType({ description: 'Narrows a list of users; every field given must hold.' })
export class UserFilter {
  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the email, first or last name.',
  })
  @IsOptional()
  @MaxLength(254)
  search?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only active (or only deactivated) users.' })
  isActive?: boolean | null;
}

export const ByEmail = { ID: 'ID', EMAIL: 'EMAIL' } as const;
export type ByEmail = keyof typeof ByEmail;

@ArgsType()
export class UserListArgs extends listArgs(
  'User',
  ByEmail,
  { field: 'ID', direction: OrderDirection.ASC },
  {
    ID: 'Creation order (of the user, or of the membership in a list of members).',
    EMAIL: 'By email address.',
  },
  { type: UserFilter },
) {}

/** The conditions `filter` puts on a user, for rows reaching it through `wrap`. */
export function userConditions<T>(
  filter: UserFilter | null | undefined,
  wrap: (user: FilterQuery<User>) => FilterQuery<T>,
): FilterQuery<T>[] {
  const out: FilterQuery<T>[] = [];
  const term = filter?.search?.trim();
  if (term) {
    out.push(
      wrap({
        $or: [
          { email: containsText(term) },
          { firstName: containsText(term) },
          { lastName: containsText(term) },
        ],
      }),
    );
  }
  if (filter?.isActive != null) out.push(wrap({ isActive: filter.isActive }));
  return out;
}

export const USER_KEYS: Record<ByEmail, SortKey<User>> = {
  ID: byId,
  EMAIL: { path: ['email'], value: (u) => u.email },
};

/** Sort keys of memberships (organisation or group), by their user's email. */
export function membershipKeys<M extends { id: number; user: User }>(): Record<
  ByEmail,
  SortKey<M>
> {
  return { ID: byId, EMAIL: { path: ['user', 'email'], value: (m) => m.user.email } };
}
