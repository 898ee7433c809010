import type {
  EntityManager,
  EventSubscriber,
  Transaction,
  TransactionEventArgs,
} from '@mikro-orm/core';
import { CHANGE_CHANNEL, changePayload, changeSource } from '../db/change-feed';
import { markChanged, markChangedIn, rootTransaction } from './changes';

export type EnvironmentScope =
  | { readonly organisationId: number }
  | { readonly projectId: number }
  | { readonly environmentId: number };

function scopeSql(which: EnvironmentScope): [string, number] {
  if ('organisationId' in which)
    return [
      'project_id in (select id from projects where organisation_id = ?)',
      which.organisationId,
    ];
  if ('projectId' in which) return ['project_id = ?', which.projectId];
  return ['id = ?', which.environmentId];
}

/**
 * `pg_notify` of one changed environment, `<id>:<version>:<source>` (see db/change-feed.ts):
 * sent inside the change's transaction, so other nodes hear of it once it commits.
 */
const notify = (version: string): string =>
  `pg_notify('${CHANGE_CHANNEL}', id || ':' || ${version} || ':' || ?::text)`;

/** The scopes each open root transaction (knex transaction object) has touched so far. */
const pendingTouches = new WeakMap<object, EnvironmentScope[]>();

/**
 * Marks environments' documents as changed (`updated_at`) when the caller's transaction
 * commits, and has the change published once it has: in this process through
 * `markChanged`, to other nodes through a NOTIFY in the same statement. SDKs compare this
 * stamp (X-Flagsmith-Document-Updated-At) to decide whether to refetch.
 *
 * The rows are not written here but just before the commit (`TouchSubscriber`), all in one
 * statement that locks them in id order: a transaction that touched several environments
 * one by one (a bulk change across environments, a project-wide change after a single
 * one) would otherwise lock them in its own order, and deadlock against another doing the
 * same in a different order.
 */
export function touchEnvironments(tx: EntityManager, which: EnvironmentScope): void {
  const current = tx.getTransactionContext<object>();
  if (!current) throw new Error('environments must be touched inside a transaction');
  const trx = rootTransaction(current);
  const scopes = pendingTouches.get(trx);
  if (scopes) scopes.push(which);
  else pendingTouches.set(trx, [which]);
}

/**
 * Writes the touches of a committing transaction (see `touchEnvironments`). Part of every
 * ORM's configuration (db/orm.ts), so no transaction can commit with its touches unwritten.
 */
export class TouchSubscriber implements EventSubscriber {
  async beforeTransactionCommit(args: TransactionEventArgs): Promise<void> {
    const trx = args.transaction as object | undefined;
    const scopes = trx && pendingTouches.get(trx);
    if (!trx || !scopes) return;
    pendingTouches.delete(trx);
    const conditions = scopes.map(scopeSql);
    const now = new Date();
    const rows: { id: number }[] = await args.em
      .getConnection()
      .execute(
        `update environments set updated_at = ? where id in (select id from environments where ${conditions.map(([where]) => `(${where})`).join(' or ')} order by id for no key update) returning id, ${notify('?::text')}`,
        [
          now,
          ...conditions.map(([, param]) => param),
          String(now.getTime()),
          changeSource(args.em),
        ],
        'all',
        trx as Transaction,
      );
    markChangedIn(
      trx,
      rows.map((r) => r.id),
    );
  }
}

/**
 * Has environments announced as changed once the caller's transaction commits, without
 * touching their documents' stamp: for what SDK endpoints depend on beyond the document
 * (keys), and for environments about to be deleted. Other nodes are told by NOTIFY.
 */
export async function environmentsChanged(
  tx: EntityManager,
  which: EnvironmentScope,
): Promise<void> {
  if ('environmentId' in which) {
    await tx
      .getConnection()
      .execute(
        `select pg_notify('${CHANGE_CHANNEL}', ?)`,
        [changePayload(which.environmentId, '', changeSource(tx))],
        'all',
        tx.getTransactionContext(),
      );
    markChanged(tx, [which.environmentId]);
    return;
  }
  const [where, param] = scopeSql(which);
  const rows: { id: number }[] = await tx.getConnection().execute(
    // Placeholders in order: the source (in notify's select list), then the scope.
    `select id, ${notify("''")} from environments where ${where}`,
    [changeSource(tx), param],
    'all',
    tx.getTransactionContext(),
  );
  markChanged(
    tx,
    rows.map((r) => r.id),
  );
}
