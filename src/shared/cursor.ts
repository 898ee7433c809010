import type { EntityManager, EntityName, FilterQuery, FindOptions } from '@mikro-orm/core';
import { IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  ArgsType,
  type ClassType,
  Field,
  InputType,
  Int,
  ObjectType,
  registerEnumType,
} from 'type-graphql';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { ValidationError } from './errors';

/*
 * Relay-style connections: every list of the GraphQL API is a connection with forward
 * keyset pagination (`first`, `after`), an ordering (`orderBy`: a field and a direction,
 * with the id breaking ties) and the count of all rows the caller may see (`totalCount`,
 * from the same conditions as the rows). Cursors carry the ordering they were made for and
 * the last row's sort value and id, so a page never repeats or skips a row that existed
 * when the previous page was read, whatever was inserted or deleted meanwhile.
 */

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, { name: 'OrderDirection' });

/** Relay's page info (forward pagination). */
@ObjectType({ description: 'Where a page of a list starts and ends, and whether more follows.' })
@TypeRequires(Authenticated)
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field({
    description:
      'Whether rows come before this page: true when it was asked for `after` a cursor (forward paging does not look back).',
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "The first edge's cursor." })
  startCursor!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The last edge's cursor (null on an empty page); pass it as `after`.",
  })
  endCursor!: string | null;
}

/** `first` rows after the `after` cursor: what every connection field takes. */
@ArgsType()
export class ConnectionArgs {
  @Field(() => Int, { defaultValue: 50, description: 'Page size, 1–100.' })
  @Min(1, { message: '$property must be at least 1' })
  @Max(100, { message: '$property must be at most 100' })
  first!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The `endCursor` of the previous page; omitted: from the start.',
  })
  @IsOptional()
  @MaxLength(500)
  after?: string | null;
}

/** The usual filter of a list: a case-insensitive, literal substring search. */
@InputType({ description: 'Narrows a list to rows whose text contains `search`.' })
export class SearchFilter {
  @Field(() => String, {
    nullable: true,
    description:
      'Case-insensitive substring, matched literally (what it is matched against: see the list).',
  })
  @IsOptional()
  @MaxLength(200)
  search?: string | null;
}

/** How a list is ordered: `field` and `direction`, ties broken by id in the same direction. */
export interface ListOrder<F extends string> {
  field: F;
  direction: OrderDirection;
}

/**
 * The `<name>Order` input type (with its `<name>OrderField` enum) for a list ordered by the
 * fields of `fields`; `defaults` is the ordering when none is given.
 */
function orderInput<F extends string>(
  name: string,
  fields: Record<F, F>,
  defaults: ListOrder<F>,
  fieldDescriptions: Partial<Record<F, string>> = {},
): ClassType<ListOrder<F>> {
  // An enum object of its own: type-graphql names an enum by the object registered.
  const values: Record<F, F> = { ...fields };
  registerEnumType(values, {
    name: `${name}OrderField`,
    valuesConfig: Object.fromEntries(
      Object.entries(fieldDescriptions).map(([k, d]) => [k, { description: d as string }]),
    ) as Partial<Record<F, { description: string }>>,
  });

  @InputType(`${name}Order`, { description: 'A field to order by, and the direction.' })
  class Order implements ListOrder<F> {
    @Field(() => values, { defaultValue: defaults.field })
    field!: F;

    @Field(() => OrderDirection, { defaultValue: defaults.direction })
    direction!: OrderDirection;
  }
  return Order;
}

/** Declares the `orderBy` argument of a list's args class. */
function OrderByField<F extends string>(
  order: ClassType<ListOrder<F>>,
  defaults: ListOrder<F>,
): PropertyDecorator {
  return (target, key) => {
    Field(() => order, { defaultValue: Object.assign(new order(), defaults) })(target, key);
    ValidateNested()(target, key);
  };
}

/** A list's filter input, and what its description says the filter matches. */
export interface ListFilter<T extends object> {
  readonly type: ClassType<T>;
  readonly description?: string;
}

/**
 * The arguments of a list: `first`/`after`, `orderBy` (a `<name>Order` input over `fields`,
 * `defaults` when omitted) and, when given, `filter`. Lists extend it with the ids that
 * scope them (`projectId`, …).
 */
export function listArgs<F extends string, T extends object = never>(
  name: string,
  fields: Record<F, F>,
  defaults: ListOrder<F>,
  descriptions: Partial<Record<F, string>>,
  filter?: ListFilter<T>,
) {
  const order = orderInput(name, fields, defaults, descriptions);

  @ArgsType()
  abstract class ListArgs extends ConnectionArgs {
    filter?: T | null;
    orderBy!: ListOrder<F>;
  }
  const proto = ListArgs.prototype;
  if (filter) {
    Field(() => filter.type, { nullable: true, description: filter.description })(proto, 'filter');
    IsOptional()(proto, 'filter');
    ValidateNested()(proto, 'filter');
  }
  OrderByField(order, defaults)(proto, 'orderBy');
  return ListArgs;
}

/** A property to sort on: its path from the entity (e.g. `['feature', 'name']`) and its value. */
export interface SortKey<T> {
  readonly path: readonly string[];
  readonly value: (row: T) => string | number;
}

export const byId: SortKey<{ id: string | number }> = { path: ['id'], value: (r) => String(r.id) };

/** The sort keys of lists ordered by id alone. */
export const ID_KEYS = { ID: byId } as const;

/** A sort key on a property of the entity itself. */
export function byProperty<T>(property: keyof T & string): SortKey<T> {
  return { path: [property], value: (row) => row[property] as string | number };
}

export interface Page<T> {
  readonly nodes: T[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  /** The count of the whole list: run only when a client asks for `totalCount`. */
  readonly totalCount: () => Promise<number>;
  /** Each node's cursor, in order. */
  readonly cursors: string[];
}

interface Position {
  readonly value: string | number;
  readonly id: string;
}

/** Row ids in cursors: numeric ids of tables, or other opaque ids of rows kept in memory. */
const ID_TEXT = /^[1-9][0-9]{0,18}$/;
const OPAQUE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function encodeCursor(order: string, pos: Position): string {
  return Buffer.from(JSON.stringify([order, pos.value, pos.id]), 'utf8').toString('base64url');
}

/** The position a cursor stands for, or BAD_USER_INPUT: only what `encodeCursor` makes for this ordering decodes. */
function decodeCursor(cursor: string, order: string, ids = ID_TEXT): Position {
  const refuse = (why: string) => new ValidationError('after', why);
  if (!/^[A-Za-z0-9_-]{1,500}$/.test(cursor)) throw refuse('is not a cursor this API gave out');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('is not a cursor this API gave out');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !(typeof parsed[1] === 'string' || (typeof parsed[1] === 'number' && isFinite(parsed[1]))) ||
    typeof parsed[2] !== 'string' ||
    !ids.test(parsed[2])
  ) {
    throw refuse('is not a cursor this API gave out');
  }
  if (parsed[0] !== order) throw refuse('was given out for another ordering of this list');
  return { value: parsed[1] as string | number, id: parsed[2] };
}

/** `{a: {b: leaf}}` for the path `['a', 'b']`. */
function nest(path: readonly string[], leaf: unknown): Record<string, unknown> {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), leaf) as Record<
    string,
    unknown
  >;
}

/** The order's name in cursors, e.g. `NAME:ASC`. */
const orderName = (order: ListOrder<string>) => `${order.field}:${order.direction}`;

/**
 * A page of `entity` rows matching every condition in `where`, in `order` (sorted on
 * `keys[order.field]`, then by id), with the count of all matching rows.
 */
export async function orderedPage<T extends { id: string | number }, F extends string>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>[],
  args: ConnectionArgs,
  order: ListOrder<F>,
  keys: Record<F, SortKey<T>>,
  options: { readonly populate?: readonly string[] } = {},
): Promise<Page<T>> {
  const key = keys[order.field];
  const name = orderName(order);
  const after = args.after == null ? undefined : decodeCursor(args.after, name);
  const dir = order.direction === OrderDirection.ASC ? 'asc' : 'desc';
  const beyond = dir === 'asc' ? '$gt' : '$lt';
  const isId = key.path.length === 1 && key.path[0] === 'id';
  const conditions = [...where];
  if (after) {
    const afterId = { id: { [beyond]: after.id } };
    conditions.push(
      (isId
        ? afterId
        : {
            $or: [
              nest(key.path, { [beyond]: after.value }),
              { $and: [nest(key.path, after.value), afterId] },
            ],
          }) as FilterQuery<T>,
    );
  }
  const orderBy = isId ? [{ id: dir }] : [nest(key.path, dir), { id: dir }];
  const rows = await em.find(
    entity,
    { $and: conditions } as FilterQuery<T>,
    {
      ...options,
      orderBy,
      limit: args.first + 1,
    } as unknown as FindOptions<T, never>,
  );
  const nodes = rows.slice(0, args.first);
  return {
    nodes,
    hasNextPage: rows.length > args.first,
    hasPreviousPage: after !== undefined,
    totalCount: once(() => em.count(entity, { $and: where } as FilterQuery<T>)),
    cursors: nodes.map((n) => encodeCursor(name, { value: key.value(n), id: String(n.id) })),
  };
}

/** Numeric ids by number, others as text. */
function compareIds(a: string, b: string): number {
  if (ID_TEXT.test(a) && ID_TEXT.test(b))
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The same paging over rows already in memory (short lists assembled from several
 * tables): `rows` must hold every row the caller may see, in any order.
 */
export function arrayPage<T extends { id: string | number }, F extends string>(
  rows: readonly T[],
  args: ConnectionArgs,
  order: ListOrder<F>,
  keys: Record<F, SortKey<T>>,
): Page<T> {
  const key = keys[order.field];
  const name = orderName(order);
  const after = args.after == null ? undefined : decodeCursor(args.after, name, OPAQUE_ID);
  const sign = order.direction === OrderDirection.ASC ? 1 : -1;
  const cmp = (a: Position, b: Position) => {
    const byValue =
      typeof a.value === 'number' && typeof b.value === 'number'
        ? a.value - b.value
        : String(a.value) < String(b.value)
          ? -1
          : String(a.value) > String(b.value)
            ? 1
            : 0;
    return sign * (byValue !== 0 ? byValue : compareIds(a.id, b.id));
  };
  const positioned = rows
    .map((row) => ({ row, pos: { value: key.value(row), id: String(row.id) } }))
    .sort((a, b) => cmp(a.pos, b.pos));
  const rest = after ? positioned.filter((r) => cmp(r.pos, after) > 0) : positioned;
  const page = rest.slice(0, args.first);
  return {
    nodes: page.map((r) => r.row),
    hasNextPage: rest.length > args.first,
    hasPreviousPage: after !== undefined,
    totalCount: () => Promise.resolve(rows.length),
    cursors: page.map((r) => encodeCursor(name, r.pos)),
  };
}

/** A Relay connection type for `node`, named `<name>Connection` with `<name>Edge` edges. */
export function connectionType<T extends object>(
  node: ClassType<T>,
  name: string,
  descriptions: { edge?: string; connection?: string; totalCount?: string } = {},
) {
  @ObjectType(`${name}Edge`, { description: descriptions.edge ?? `A ${name} and its cursor.` })
  @TypeRequires(Authenticated)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, {
    description: descriptions.connection ?? `A page of ${name} records.`,
  })
  @TypeRequires(Authenticated)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [node], { description: "The edges' nodes, for clients that need no cursors." })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, {
      description:
        descriptions.totalCount ??
        'How many rows the whole list holds (every page), as the caller may see it.',
    })
    totalCount!: number | Promise<number>;
  }
  return Connection;
}

export interface ConnectionValue<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  /** A getter: the count query runs only when the field is read. */
  readonly totalCount: Promise<number>;
}

/** `fn`'s promise, made on the first call and kept. */
function once<R>(fn: () => Promise<R>): () => Promise<R> {
  let made: Promise<R> | undefined;
  return () => (made ??= fn());
}

/** A page as a connection value. */
export function toConnection<T>(page: Page<T>): ConnectionValue<T> {
  const edges = page.nodes.map((node, i) => ({ cursor: page.cursors[i]!, node }));
  return {
    edges,
    nodes: page.nodes,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    get totalCount() {
      return page.totalCount();
    },
  };
}

/** Newest first, by id: how logs (audit records, deliveries) are listed unless asked otherwise. */
export const NEWEST_FIRST: ListOrder<'ID'> = { field: 'ID', direction: OrderDirection.DESC };

/** Lists ordered by id alone. */
export const ById = { ID: 'ID' } as const;
export const BY_ID_DESCRIPTION = { ID: 'Creation order (ids grow as rows are made).' };
