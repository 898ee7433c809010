import type { EntityManager } from '@mikro-orm/core';
import { Project } from '../projects/project.entity';
import { Environment } from './environment.entity';

/**
 * Marks environments' documents as changed (`updated_at`), inside the caller's transaction.
 * SDKs compare this stamp (X-Flagsmith-Document-Updated-At) to decide whether to refetch.
 */
export async function touchEnvironments(
  tx: EntityManager,
  which:
    | { readonly organisationId: number }
    | { readonly projectId: number }
    | { readonly environmentId: number },
): Promise<void> {
  let where: { project: number | { $in: number[] } } | { id: number };
  if ('organisationId' in which) {
    const projects = await tx.find(
      Project,
      { organisation: which.organisationId },
      { fields: ['id'] },
    );
    where = { project: { $in: projects.map((p) => p.id) } };
  } else if ('projectId' in which) where = { project: which.projectId };
  else where = { id: which.environmentId };
  await tx.nativeUpdate(Environment, where, { updatedAt: new Date() });
}
