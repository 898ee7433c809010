import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { environmentsChanged, touchEnvironments } from '../environments/touch';
import { Organisation } from '../organisations/organisation.entity';
import { GrantScope, PermissionGrant } from '../permissions/permission-grant.entity';
import type { PermissionService } from '../permissions/permission.service';
import { applySettings, pick } from '../shared/apply-settings';
import { ForbiddenError } from '../shared/errors';
import {
  PROJECT_SETTING_KEYS,
  type CreateProjectInput,
  type UpdateProjectInput,
} from './project.inputs';
import { Project } from './project.entity';

const AUDITED = ['name', ...PROJECT_SETTING_KEYS] as const;

export class ProjectService {
  constructor(private readonly audit: AuditService) {}

  async list(em: EntityManager, p: PermissionService, organisationId?: number): Promise<Project[]> {
    const visible = await p.filter('VIEW_PROJECT', Project);
    const where =
      organisationId === undefined
        ? visible
        : { $and: [visible, { organisation: organisationId }] };
    return em.find(Project, where, { orderBy: { id: 'asc' } });
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
      await touchEnvironments(tx, { projectId: project.id });
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
