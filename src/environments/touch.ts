import type { EntityManager } from '@mikro-orm/core';
import { CHANGE_CHANNEL, changePayload, changeSource } from '../db/change-feed';
import { markChanged } from './changes';

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

/**
 * Marks environments' documents as changed (`updated_at`), inside the caller's transaction,
 * and has the change published once it commits: in this process through `markChanged`, to
 * other nodes through a NOTIFY in the same statement. SDKs compare this stamp
 * (X-Flagsmith-Document-Updated-At) to decide whether to refetch.
 */
export async function touchEnvironments(tx: EntityManager, which: EnvironmentScope): Promise<void> {
  const [where, param] = scopeSql(which);
  const now = new Date();
  // The rows are locked in id order first: two changes to one project at once would
  // otherwise lock its environments in whatever order each scan met them, and deadlock.
  const rows: { id: number }[] = await tx
    .getConnection()
    .execute(
      `update environments set updated_at = ? where id in (select id from environments where ${where} order by id for no key update) returning id, ${notify('?::text')}`,
      [now, param, String(now.getTime()), changeSource(tx)],
      'all',
      tx.getTransactionContext(),
    );
  markChanged(
    tx,
    rows.map((r) => r.id),
  );
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
