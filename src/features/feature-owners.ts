import type { EntityManager } from '@mikro-orm/core';
import { UserGroupMembership } from '../groups/user-group.entity';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { ForbiddenError } from '../shared/errors';
import { Feature } from './feature.entity';

/**
 * In a project with `enforceFeatureOwners`, only the feature's owners (users, or members of
 * its owner groups) and project admins may change the feature or its states. (Setting the
 * owners is for project admins alone: `@WritableBy` on the feature inputs.)
 */
export async function assertMayChangeFeature(
  em: EntityManager,
  p: PermissionService,
  feature: Feature,
): Promise<void> {
  const project = await em.findOneOrFail(Project, feature.project.id);
  if (!project.enforceFeatureOwners) return;
  const ref = { organisationId: project.organisation.id, projectId: project.id };
  if (await p.can('PROJECT_ADMIN', ref)) return;
  const userId = p.userId;
  if (userId !== undefined) {
    const groups = await em.find(UserGroupMembership, { user: userId }, { fields: ['group'] });
    const owned = await em.count(Feature, {
      id: feature.id,
      $or: [{ owners: userId }, { groupOwners: { $in: groups.map((g) => g.group.id) } }],
    });
    if (owned > 0) return;
  }
  throw new ForbiddenError(
    `Project ${project.name} lets only the feature's owners and project admins change ${feature.name}`,
    { reason: 'FEATURE_OWNERS_ENFORCED', permission: 'PROJECT_ADMIN' },
  );
}
