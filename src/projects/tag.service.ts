import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { touchEnvironments } from '../environments/touch';
import type { PermissionService } from '../permissions/permission.service';
import { pick } from '../shared/apply-settings';
import { byId, byProperty, orderedPage, type Page } from '../shared/cursor';
import { containsText } from '../shared/search';
import { ConflictError, ValidationError } from '../shared/errors';
import { Project } from './project.entity';
import { Tag } from './tag.entity';
import type { CreateTagInput, TagListArgs, UpdateTagInput } from '../features/feature.inputs';

const AUDITED = ['label', 'color', 'description', 'isPermanent'] as const;

export class TagService {
  constructor(private readonly audit: AuditService) {}

  /** A page of a project's tags. */
  list(em: EntityManager, project: Project, args: TagListArgs): Promise<Page<Tag>> {
    const where: FilterQuery<Tag>[] = [{ project }];
    const term = args.filter?.search?.trim();
    if (term) where.push({ label: containsText(term) });
    return orderedPage(em, Tag, where, args, args.orderBy, {
      LABEL: byProperty<Tag>('label'),
      ID: byId,
    });
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    input: CreateTagInput,
  ): Promise<Tag> {
    return em.transactional(async (tx) => {
      const label = input.label.trim();
      await this.assertLabelFree(tx, project, label);
      const tag = tx.create(Tag, {
        project,
        label,
        color: input.color,
        description: input.description ?? null,
        isPermanent: input.isPermanent,
      });
      await tx.flush();
      await this.record(tx, p, project, tag, ChangeType.CREATE, `Tag created: ${label}`, null);
      return tag;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    tag: Tag,
    input: UpdateTagInput,
  ): Promise<Tag> {
    if (tag.isSystemTag) throw new ValidationError('id', 'system tags cannot be changed');
    return em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, tag.project.id);
      const before = pick(tag, AUDITED);
      if (input.label != null && input.label.trim() !== tag.label) {
        await this.assertLabelFree(tx, project, input.label.trim());
        tag.label = input.label.trim();
      }
      if (input.color != null) tag.color = input.color;
      if (input.description !== undefined) tag.description = input.description;
      if (input.isPermanent != null) tag.isPermanent = input.isPermanent;
      await tx.flush();
      await this.record(
        tx,
        p,
        project,
        tag,
        ChangeType.UPDATE,
        `Tag updated: ${tag.label}`,
        before,
      );
      return tag;
    });
  }

  async delete(em: EntityManager, p: PermissionService, tag: Tag): Promise<void> {
    if (tag.isSystemTag) throw new ValidationError('id', 'system tags cannot be deleted');
    await em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, tag.project.id);
      await this.audit.record(tx, p, {
        ...auditScope(project),
        type: AuditObjectType.FEATURE,
        objectId: tag.id,
        change: ChangeType.DELETE,
        log: `Tag deleted: ${tag.label}`,
        before: pick(tag, AUDITED),
      });
      await tx.nativeDelete(Tag, { id: tag.id });
      // Tags travel in the environment document with each feature.
      touchEnvironments(tx, { projectId: project.id });
    });
  }

  private async assertLabelFree(tx: EntityManager, project: Project, label: string) {
    if ((await tx.count(Tag, { project, label })) > 0)
      throw new ConflictError('a tag with this label already exists', 'input.label');
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    project: Project,
    tag: Tag,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      ...auditScope(project),
      type: AuditObjectType.FEATURE,
      objectId: tag.id,
      change,
      log,
      before,
      after: pick(tag, AUDITED),
    });
  }
}
