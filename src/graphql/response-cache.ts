import type { ApolloServerPlugin } from '@apollo/server';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { Extensions } from 'type-graphql';
import { requestContext } from '../shared/logger';
import type { SqlFootprint } from '../db/sql-footprint';
import type { Principal } from '../users/principal';
import type { GraphQLContext } from './context';

/**
 * Answers to repeated GraphQL queries, kept in memory and dropped the moment anything they
 * read changes.
 *
 * While a query runs for the first time, every SQL statement it sends is noted (through the
 * request's async context, see `SqlFootprint`), and with it the tables it read. Its answer is
 * kept under the caller, the query and its variables, with those tables and the moment it
 * started (`TableVersions.now()`). A later identical request gets the kept answer as long as
 * none of those tables has changed since that moment; else the query runs again.
 *
 * A table changes (`TableVersions.bump`):
 * - on this node, when a statement that writes it is sent, and again once its transaction
 *   commits (db/sql-footprint.ts): an answer read in between cannot outlive the commit;
 * - on other nodes, when PostgreSQL's notification of the commit arrives (a trigger on every
 *   table, see the migration `table_notifications`, heard by db/change-feed.ts). While that
 *   listen connection is down, nothing is answered from here or kept (`enabled`), and a
 *   reconnection forgets everything (`forgetAll`), since notifications may have been missed.
 *
 * Not kept: mutations; answers with errors; queries whose run wrote anything; queries with a
 * field marked `@NotCached()` (answers that depend on the clock, or on counts held in memory).
 * The caller is part of the key (user and session, or API key), so no answer is shared
 * between callers, and permission changes are table changes like any other.
 */
export const NOT_CACHED_EXTENSION = 'flagwardNotCached';

/** Marks a query or field whose answer must always be computed afresh (e.g. it reads the clock). */
export function NotCached(): MethodDecorator & PropertyDecorator {
  return Extensions({ [NOT_CACHED_EXTENSION]: true }) as MethodDecorator & PropertyDecorator;
}

/** When each table last changed, on a clock that ticks once per change. */
export class TableVersions {
  private clock = 0;
  /** Everything changed at this tick (a reconnection, a cleared cache). */
  private floor = 0;
  private readonly changed = new Map<string, number>();

  now(): number {
    return this.clock;
  }

  bump(tables: Iterable<string>): void {
    const tick = ++this.clock;
    for (const table of tables) this.changed.set(table, tick);
  }

  bumpAll(): void {
    this.floor = ++this.clock;
    this.changed.clear();
  }

  /** Whether none of `tables` changed after tick `at`. */
  unchangedSince(tables: readonly string[], at: number): boolean {
    if (this.floor > at) return false;
    for (const table of tables) if ((this.changed.get(table) ?? 0) > at) return false;
    return true;
  }
}

interface Entry {
  readonly data: Record<string, unknown>;
  readonly tables: readonly string[];
  readonly at: number;
  readonly bytes: number;
}

/** A query's way through the cache. */
export type Lookup = 'hit' | 'miss' | 'uncacheable';

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly cacheable = new WeakMap<DocumentNode, Map<string, boolean>>();

  constructor(
    readonly versions: TableVersions,
    private readonly maxBytes: number,
    /** Whether changes on other nodes are being heard (always, with one node). */
    private readonly listening: () => boolean = () => true,
    /** Told of every query's way through the cache (metrics). */
    readonly onLookup: (lookup: Lookup) => void = () => undefined,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0 && this.listening();
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Record<string, unknown> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (!this.versions.unchangedSince(entry.tables, entry.at)) {
      this.bytes -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.data;
  }

  /** Keeps an answer read from `tables` by a run that started at tick `at`, if still current. */
  set(key: string, data: Record<string, unknown>, tables: Iterable<string>, at: number): void {
    const list = [...tables];
    if (!this.versions.unchangedSince(list, at)) return;
    const bytes = key.length + JSON.stringify(data).length;
    if (bytes > this.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { data, tables: list, at, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  forgetAll(): void {
    this.entries.clear();
    this.bytes = 0;
    this.versions.bumpAll();
  }

  /** Whether an operation may be kept: a query with no `@NotCached()` field (memoised). */
  mayKeep(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
  ): boolean {
    const name = operation.name?.value ?? '';
    let byOperation = this.cacheable.get(document);
    const known = byOperation?.get(name);
    if (known !== undefined) return known;
    let ok = operation.operation === 'query';
    if (ok) {
      const typeInfo = new TypeInfo(schema);
      const spread = new Set<string>();
      const check = (node: OperationDefinitionNode | FragmentDefinitionNode): void => {
        visit(
          node,
          visitWithTypeInfo(typeInfo, {
            Field() {
              if (typeInfo.getFieldDef()?.extensions?.[NOT_CACHED_EXTENSION]) ok = false;
            },
            FragmentSpread(node) {
              spread.add(node.name.value);
            },
          }),
        );
      };
      check(operation);
      // Every fragment of the document that the operation may spread (its type condition
      // gives the field types; a fragment spread only by others is checked all the same).
      for (const definition of document.definitions)
        if (definition.kind === 'FragmentDefinition' && spread.size > 0) check(definition);
    }
    if (!byOperation) {
      byOperation = new Map();
      this.cacheable.set(document, byOperation);
    }
    byOperation.set(name, ok);
    return ok;
  }
}

/** Who an answer was made for: the user and the session or token, or the API key. */
export function callerKey(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'user': {
      const u = principal.user;
      const flags = [u.isActive, u.isStaff, u.isSuperuser].map((f) => (f ? 1 : 0)).join('');
      return `user:${u.id}:${flags}:${principal.session.idHash}`;
    }
    case 'apiKey':
      return `key:${principal.key.id}:${principal.key.organisationId}:${principal.key.isAdmin ? 1 : 0}`;
  }
}

/** The tables the caller's own record was read from, before the query ran. */
function callerTables(principal: Principal): string[] {
  switch (principal.kind) {
    case 'anonymous':
      return [];
    case 'user':
      return ['users'];
    case 'apiKey':
      return ['organisation_api_keys'];
  }
}

/** The Apollo plugin answering from `cache` and filling it. */
export function responseCachePlugin(cache: ResponseCache): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart() {
      let key: string | undefined;
      let footprint: SqlFootprint | undefined;
      let startedAt = 0;
      return Promise.resolve({
        responseForOperation(rc) {
          // (No operation: Apollo refuses the request itself, e.g. an unnamed one of several.)
          if (
            !rc.operation ||
            !cache.enabled ||
            !cache.mayKeep(rc.schema, rc.document, rc.operation)
          ) {
            cache.onLookup('uncacheable');
            return Promise.resolve(null);
          }
          key = [
            callerKey(rc.contextValue.principal),
            rc.queryHash,
            rc.operationName ?? '',
            JSON.stringify(rc.request.variables ?? {}),
          ].join('\u0000');
          const data = cache.get(key);
          if (data) {
            cache.onLookup('hit');
            return Promise.resolve({
              http: rc.response.http,
              body: { kind: 'single', singleResult: { data } },
            });
          }
          cache.onLookup('miss');
          const store = requestContext.getStore();
          if (!store) return Promise.resolve(null);
          // The caller was read before the run (sign-in), and resolvers use it as read then.
          footprint = { tables: new Set(callerTables(rc.contextValue.principal)), wrote: false };
          store.sql = footprint;
          startedAt = rc.contextValue.req.answersTick ?? cache.versions.now();
          return Promise.resolve(null);
        },
        willSendResponse(rc) {
          if (!footprint || key === undefined) return Promise.resolve();
          const store = requestContext.getStore();
          if (store?.sql === footprint) store.sql = undefined;
          const body = rc.response.body;
          if (
            body.kind === 'single' &&
            !body.singleResult.errors?.length &&
            body.singleResult.data &&
            !footprint.wrote
          ) {
            cache.set(key, body.singleResult.data, footprint.tables, startedAt);
          }
          return Promise.resolve();
        },
      });
    },
  };
}
