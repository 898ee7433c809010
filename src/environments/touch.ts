import type { EntityManager } from '@mikro-orm/core';
import { Environment } from './environment.entity';

/**
 * Marks environments' documents as changed (`updated_at`), inside the caller's transaction.
 * SDKs compare this stamp (X-Flagsmith-Document-Updated-At) to decide whether to refetch.
 */
export async function touchEnvironments(
  tx: EntityManager,
  which: { readonly projectId: number } | { readonly environmentId: number },
): Promise<void> {
  const where = 'projectId' in which ? { project: which.projectId } : { id: which.environmentId };
  await tx.nativeUpdate(Environment, where, { updatedAt: new Date() });
}
