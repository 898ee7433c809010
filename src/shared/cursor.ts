import type { EntityManager, EntityName, FilterQuery, FindOptions } from '@mikro-orm/core';
import { Max, Min } from 'class-validator';
import { ArgsType, type ClassType, Field, Int, ObjectType } from 'type-graphql';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { ValidationError } from './errors';

/**
 * Opaque cursors for keyset pagination over numeric ids: base64url of the id's decimal
 * text. Clients must treat them as opaque; only what `encodeIdCursor` makes decodes.
 */
export function encodeIdCursor(id: string | number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The id a cursor stands for, or BAD_USER_INPUT naming `field`. */
export function decodeIdCursor(cursor: string, field: string): string {
  if (/^[A-Za-z0-9_-]{1,28}$/.test(cursor)) {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    if (/^[1-9][0-9]{0,18}$/.test(id) && encodeIdCursor(id) === cursor) return id;
  }
  throw new ValidationError(field, 'is not a cursor this API gave out');
}

/** Relay's page info, forward pagination only. */
@ObjectType({ description: 'Where a page of a list ends, and whether more follows.' })
@TypeRequires(Authenticated)
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: "The last edge's cursor (null on an empty page); pass it as `after`.",
  })
  endCursor!: string | null;
}

/** Forward keyset pagination over ids, newest first: `first` rows after the `after` cursor. */
@ArgsType()
export class CursorPageArgs {
  @Field(() => Int, { defaultValue: 50, description: 'Page size, 1–100.' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(100, { message: '$property must be at most 100' })
  first!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The `endCursor` of the previous page; omitted: the newest rows.',
  })
  after?: string | null;
}

export interface Page<T> {
  readonly nodes: T[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

/**
 * A page of `entity` rows matching every condition in `where`, newest (highest id) first,
 * with the count of all matching rows.
 */
export async function keysetPage<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>[],
  args: CursorPageArgs,
  options: { readonly populate?: readonly string[] } = {},
): Promise<Page<T>> {
  const after = args.after == null ? undefined : decodeIdCursor(args.after, 'after');
  const totalCount = await em.count(entity, { $and: where } as FilterQuery<T>);
  const conditions =
    after === undefined ? where : [...where, { id: { $lt: after } } as unknown as FilterQuery<T>];
  const rows = await em.find(
    entity,
    { $and: conditions } as FilterQuery<T>,
    {
      ...options,
      orderBy: { id: 'desc' },
      limit: args.first + 1,
    } as FindOptions<T, never>,
  );
  return { nodes: rows.slice(0, args.first), hasNextPage: rows.length > args.first, totalCount };
}

/** A Relay connection type for `node`, named `<name>Connection` with `<name>Edge` edges. */
export function connectionType<T extends object>(
  node: ClassType<T>,
  name: string,
  descriptions: { edge: string; connection: string; totalCount?: string },
) {
  @ObjectType(`${name}Edge`, { description: descriptions.edge })
  @TypeRequires(Authenticated)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: descriptions.connection })
  @TypeRequires(Authenticated)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: descriptions.totalCount })
    totalCount!: number;
  }
  return Connection;
}

/** A page as a connection: each edge's cursor is its node's id. */
export function toConnection<T extends { id: string }>(
  page: Page<T>,
): { edges: { cursor: string; node: T }[]; pageInfo: PageInfo; totalCount: number } {
  const edges = page.nodes.map((node) => ({ cursor: encodeIdCursor(node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}
