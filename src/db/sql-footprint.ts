import type { LoggingOptions, Transaction, TransactionEventArgs } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/postgresql';
import { rootTransaction } from '../environments/changes';
import { requestContext } from '../shared/logger';
import type { Orm } from './orm';

/** What the SQL sent on behalf of one GraphQL operation touched (graphql/response-cache.ts). */
export interface SqlFootprint {
  readonly tables: Set<string>;
  wrote: boolean;
}

/** Told of tables written on this node: when the statement is sent, and when it has committed. */
export type TablesWritten = (tables: readonly string[]) => void;

/** A statement that writes (row locks such as `for update` taken out first: they write nothing). */
const WRITES = /\b(?:insert\s+into|update|delete\s+from|truncate|merge\s+into)\b/i;
const LOCKS = /\bfor\s+(?:no\s+key\s+)?update\b/gi;
const WORDS = /[a-z_][a-z0-9_]*/g;

function namedTables(sql: string, known: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const [word] of sql.matchAll(WORDS)) if (known.has(word)) found.add(word);
  return [...found];
}

type Query = string | Knex.QueryBuilder | Knex.Raw;
/** The connection's `execute`, as the ORM calls it. */
type Execute = (
  query: Query,
  params?: unknown[],
  method?: 'all' | 'get' | 'run',
  ctx?: Transaction,
  loggerContext?: LoggingOptions,
) => Promise<unknown>;

/**
 * Notes the tables every statement sent through the ORM's connection names:
 * - for the GraphQL query being served, if one is noting (`requestContext`'s `sql`), the
 *   tables read and whether anything was written;
 * - for every write, anywhere, `written` is called with its tables as the statement is sent
 *   and again once it has committed: at once for a statement outside a transaction, else
 *   when the transaction commits (nothing more for a rollback).
 *
 * The tables are those of the database's schema (read once here) named in the SQL text, and
 * for a write, the tables its foreign keys cascade to.
 */
export async function noteSqlFootprints(orm: Orm, written: TablesWritten): Promise<void> {
  const connection = orm.em.getConnection();
  const rows = await connection.execute<{ name: string }[]>(
    `select tablename as name from pg_tables where schemaname = current_schema()`,
  );
  const known: ReadonlySet<string> = new Set(rows.map((r) => r.name));
  // A write to a table also changes, without naming them, the tables whose foreign keys
  // cascade from it (delete or update cascade, set null, set default): closed over chains.
  const links = await connection.execute<{ referenced: string; referencing: string }[]>(
    `select confrelid::regclass::text as referenced, conrelid::regclass::text as referencing
       from pg_constraint
      where contype = 'f' and connamespace = current_schema()::regnamespace
        and (confdeltype in ('c', 'n', 'd') or confupdtype in ('c', 'n', 'd'))`,
  );
  const cascades = new Map<string, string[]>();
  for (const { referenced, referencing } of links) {
    const list = cascades.get(referenced) ?? [];
    list.push(referencing);
    cascades.set(referenced, list);
  }
  const withCascades = (tables: readonly string[]): string[] => {
    const all = new Set(tables);
    const queue = [...tables];
    for (let t = queue.pop(); t !== undefined; t = queue.pop())
      for (const next of cascades.get(t) ?? [])
        if (!all.has(next)) {
          all.add(next);
          queue.push(next);
        }
    return [...all];
  };
  /** Tables written by each open root transaction, announced again when it commits. */
  const pending = new WeakMap<object, Set<string>>();
  /**
   * Tables written in a transaction known only through a query builder bound to it (the ORM
   * writes collection links so): announced again when any root transaction ends, and kept
   * until none is open.
   */
  const unattributed = new Set<string>();
  let open = 0;

  const original = connection.execute.bind(connection) as unknown as Execute;
  const execute: Execute = async (query, params, method, ctx, loggerContext) => {
    let sql: string;
    if (typeof query === 'string') sql = query;
    else {
      // As the ORM itself does with a query builder: its transaction, then its SQL.
      ctx ??= (query as unknown as { client: { transacting?: boolean } }).client.transacting
        ? (query as unknown as Transaction)
        : undefined;
      const compiled = query.toSQL();
      sql = compiled.sql;
      params = [...(compiled.bindings ?? [])];
      query = sql;
    }
    const footprint = requestContext.getStore()?.sql;
    // Most statements name no write keyword at all: only those are copied without locks.
    const writes = WRITES.test(sql) && WRITES.test(sql.replace(LOCKS, ''));
    if (!writes) {
      if (footprint) for (const t of namedTables(sql, known)) footprint.tables.add(t);
      return original(query, params, method, ctx, loggerContext);
    }
    const tables = withCascades(namedTables(sql, known));
    if (footprint) {
      footprint.wrote = true;
      for (const t of tables) footprint.tables.add(t);
    }
    if (tables.length === 0) return original(query, params, method, ctx, loggerContext);
    written(tables);
    if (ctx) {
      if ((ctx as { isTransaction?: boolean }).isTransaction) {
        const root = rootTransaction(ctx as object);
        const set = pending.get(root);
        if (set) for (const t of tables) set.add(t);
        else pending.set(root, new Set(tables));
      } else for (const t of tables) unattributed.add(t);
      return original(query, params, method, ctx, loggerContext);
    }
    try {
      return await original(query, params, method, ctx, loggerContext);
    } finally {
      written(tables);
    }
  };
  connection.execute = execute as typeof connection.execute;

  const ended = (trx: object | undefined, committed: boolean): void => {
    open = Math.max(0, open - 1);
    const tables = new Set(unattributed);
    if (open === 0) unattributed.clear();
    const own = trx && pending.get(trx);
    if (trx) pending.delete(trx);
    if (own && committed) for (const t of own) tables.add(t);
    if (tables.size > 0) written([...tables]);
  };
  orm.em.getEventManager().registerSubscriber({
    afterTransactionStart(): void {
      open++;
    },
    afterTransactionCommit(args: TransactionEventArgs): void {
      ended(args.transaction as object | undefined, true);
    },
    afterTransactionRollback(args: TransactionEventArgs): void {
      ended(args.transaction as object | undefined, false);
    },
  });
}
