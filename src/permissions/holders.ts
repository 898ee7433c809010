import type { EntityManager } from '@mikro-orm/core';
import { UserGroup } from '../groups/user-group.entity';
import { OrganisationMembership } from '../organisations/membership.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Role } from '../roles/role.entity';
import { ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';

/** Who holds a grant or a role within an organisation. */
export type HolderKind = 'user' | 'group' | 'role' | 'apiKey';
export interface Holder<K extends HolderKind = HolderKind> {
  readonly kind: K;
  readonly id: number;
}

const ID_FIELD: Record<HolderKind, 'userId' | 'groupId' | 'roleId' | 'apiKeyId'> = {
  user: 'userId',
  group: 'groupId',
  role: 'roleId',
  apiKey: 'apiKeyId',
};

/**
 * The one holder an input names among `kinds` (`{userId}`, `{groupId}`, …): bad input
 * naming `field` unless exactly one is given.
 */
export function holderOf<K extends HolderKind>(
  input: Partial<Record<'userId' | 'groupId' | 'roleId' | 'apiKeyId', string | null>>,
  kinds: readonly K[],
  field: string,
): Holder<K> {
  const given = kinds.filter((k) => input[ID_FIELD[k]] != null);
  if (given.length !== 1) {
    const names = kinds.map((k) => ID_FIELD[k]);
    throw new ValidationError(
      field,
      `name exactly one of ${names.slice(0, -1).join(', ')} and ${names.at(-1)}`,
    );
  }
  const kind = given[0]!;
  const key = ID_FIELD[kind];
  return { kind, id: parseId(input[key], `${field}.${key}`) };
}

/**
 * Checks that a holder belongs to the organisation (a member, or its group, role or
 * non-admin API key) and returns how the audit log names it; bad input naming the field
 * otherwise.
 */
export async function organisationHolder(
  em: EntityManager,
  organisationId: number,
  holder: Holder,
  field: string,
): Promise<string> {
  const at = `${field}.${ID_FIELD[holder.kind]}`;
  const missing = (what: string) =>
    new ValidationError(at, `no ${what} of this organisation with id ${holder.id}`);
  switch (holder.kind) {
    case 'user': {
      const m = await em.findOne(
        OrganisationMembership,
        { organisation: organisationId, user: holder.id },
        { populate: ['user'] },
      );
      if (!m) throw missing('member');
      return `user ${m.user.email}`;
    }
    case 'group': {
      const g = await em.findOne(UserGroup, { id: holder.id, organisation: organisationId });
      if (!g) throw missing('group');
      return `group ${g.name}`;
    }
    case 'role': {
      const r = await em.findOne(Role, { id: holder.id, organisation: organisationId });
      if (!r) throw missing('role');
      return `role ${r.name}`;
    }
    case 'apiKey': {
      const k = await em.findOne(OrganisationApiKey, {
        id: holder.id,
        organisation: organisationId,
      });
      if (!k) throw missing('API key');
      if (k.isAdmin) {
        throw new ValidationError(
          at,
          'an admin key holds every permission; give roles only to non-admin keys',
        );
      }
      return `API key ${k.name}`;
    }
  }
}
