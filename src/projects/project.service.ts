import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { environmentsChanged, touchEnvironments } from '../environments/touch';
import { Organisation } from '../organisations/organisation.entity';
import { GrantScope, PermissionGrant } from '../permissions/permission-grant.entity';
import type { PermissionService } from '../permissions/permission.service';
import { applySettings, pick } from '../shared/apply-settings';
import type { Page } from '../shared/cursor';
import { ForbiddenError } from '../shared/errors';
import { type NamedListArgs, namedPage } from '../shared/named-list';
import {
  PROJECT_SETTING_KEYS,
  type CreateProjectInput,
  type UpdateProjectInput,
} from './project.inputs';
import { Project } from './project.entity';

const AUDITED = ['name', ...PROJECT_SETTING_KEYS] as const;

export class ProjectService {
  constructor(private readonly audit: AuditService) {}

  /** A page of the projects the caller may view (of one organisation, when given). */
  async list(
    em: EntityManager,
    p: PermissionService,
    args: NamedListArgs,
    organisationId?: number,
  ): Promise<Page<Project>> {
    const where: FilterQuery<Project>[] = [await p.filter('VIEW_PROJECT', Project)];
    if (organisationId !== undefined) where.push({ organisation: organisationId });
    return namedPage(em, Project, where, args);
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    org: Organisation,
    input: CreateProjectInput,
  ): Promise<Project> {
    if (org.restrictProjectCreateToAdmin && !(await p.can('ORGANISATION_ADMIN', org))) {
      throw new ForbiddenError('Only organisation admins may create projects here', {
        permission: 'ORGANISATION_ADMIN',
      });
    }
    const created = await em.transactional(async (tx) => {
      const project = tx.create(Project, { name: input.name.trim(), organisation: org });
      applySettings(project, input, PROJECT_SETTING_KEYS, ['featureNameRegex']);
      const userId = p.userId;
      if (userId !== undefined) {
        // The creator administers what they created (Flagsmith: creator becomes project admin).
        tx.create(PermissionGrant, {
          scope: GrantScope.PROJECT,
          organisation: org,
          project,
          user: userId,
          admin: true,
        });
      }
      await tx.flush();
      await this.audit.record(tx, p, {
        organisationId: org.id,
        projectId: project.id,
        type: AuditObjectType.PROJECT,
        objectId: project.id,
        objectUuid: project.uuid,
        change: ChangeType.CREATE,
        log: `New project created: ${project.name}`,
        after: pick(project, AUDITED),
      });
      return project;
    });
    // The caller became the project's admin in this request.
    p.forget();
    return created;
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    input: UpdateProjectInput,
  ): Promise<Project> {
    return em.transactional(async (tx) => {
      const before = pick(project, AUDITED);
      if (input.name !== undefined) project.name = input.name.trim();
      applySettings(project, input, PROJECT_SETTING_KEYS, ['featureNameRegex']);
      await this.audit.record(tx, p, {
        ...auditScope(project),
        type: AuditObjectType.PROJECT,
        objectId: project.id,
        objectUuid: project.uuid,
        change: ChangeType.UPDATE,
        log: `Project updated: ${project.name}`,
        before,
        after: pick(project, AUDITED),
      });
      await tx.flush();
      // Project settings travel in every environment's document.
      touchEnvironments(tx, { projectId: project.id });
      return project;
    });
  }

  async delete(em: EntityManager, p: PermissionService, project: Project): Promise<void> {
    await em.transactional(async (tx) => {
      await this.audit.record(tx, p, {
        organisationId: project.organisation.id,
        type: AuditObjectType.PROJECT,
        objectId: project.id,
        objectUuid: project.uuid,
        change: ChangeType.DELETE,
        log: `Project deleted: ${project.name}`,
        before: pick(project, AUDITED),
      });
      await environmentsChanged(tx, { projectId: project.id });
      tx.remove(project);
      await tx.flush();
    });
  }
}
