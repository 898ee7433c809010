import type { EntityManager } from '@mikro-orm/core';
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
 * Marks environments' documents as changed (`updated_at`), inside the caller's transaction,
 * and has the change published once it commits. SDKs compare this stamp
 * (X-Flagsmith-Document-Updated-At) to decide whether to refetch.
 */
export async function touchEnvironments(tx: EntityManager, which: EnvironmentScope): Promise<void> {
  const [where, param] = scopeSql(which);
  const rows: { id: number }[] = await tx
    .getConnection()
    .execute(
      `update environments set updated_at = ? where ${where} returning id`,
      [new Date(), param],
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
 * (keys), and for environments about to be deleted.
 */
export async function environmentsChanged(
  tx: EntityManager,
  which: EnvironmentScope,
): Promise<void> {
  if ('environmentId' in which) {
    markChanged(tx, [which.environmentId]);
    return;
  }
  const [where, param] = scopeSql(which);
  const rows: { id: number }[] = await tx
    .getConnection()
    .execute(
      `select id from environments where ${where}`,
      [param],
      'all',
      tx.getTransactionContext(),
    );
  markChanged(
    tx,
    rows.map((r) => r.id),
  );
}
