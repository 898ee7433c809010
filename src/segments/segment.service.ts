import type { EntityDictionary, EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { touchEnvironments } from '../environments/touch';
import { FeatureSegment } from '../features/feature-state.entity';
import { Feature } from '../features/feature.entity';
import { loadVisible } from '../permissions/auth-checker';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { LimitExceededError, ValidationError } from '../shared/errors';
import { groupBy } from '../shared/collections';
import type { Page } from '../shared/cursor';
import { namedPage } from '../shared/named-list';
import { type RuleShape, storedCondition, validateRules } from './condition-rules';
import { renumberOverrides } from './segment-override.service';
import type { CreateSegmentInput, SegmentListArgs, UpdateSegmentInput } from './segment.inputs';
import { Segment, SegmentCondition, SegmentRule, SegmentRuleNode } from './segment.entity';

/** A rule tree as plain data, for audit records. */
interface PlainRule {
  type: string;
  conditions: { operator: string; property: string | null; value: string | null }[];
  rules: PlainRule[];
}

/** Rule trees requested while one request is resolving, loaded together. */
interface TreeBatch {
  readonly ids: Set<number>;
  readonly result: Promise<Map<number, SegmentRuleNode[]>>;
}

export class SegmentService {
  private readonly batches = new WeakMap<EntityManager, TreeBatch>();

  constructor(private readonly audit: AuditService) {}

  /** A page of a project's segments. */
  list(em: EntityManager, project: Project, args: SegmentListArgs): Promise<Page<Segment>> {
    return namedPage(em, Segment, [{ project }], args);
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    input: CreateSegmentInput,
  ): Promise<Segment> {
    validateRules(input.rules, 'input.rules');
    // Visibility is checked outside the transaction: the permission service reads through
    // the request's EntityManager, and the embedded database has a single connection.
    const feature =
      input.featureId == null
        ? null
        : await this.projectFeature(em, p, project, input.featureId, 'input.featureId');
    return em.transactional(async (tx) => {
      const count = await tx.count(Segment, { project });
      if (count >= project.maxSegmentsAllowed)
        throw new LimitExceededError(
          `this project may have at most ${project.maxSegmentsAllowed} segments`,
        );
      const segment = tx.create(Segment, {
        project,
        feature,
        name: input.name.trim(),
        description: input.description ?? null,
      });
      await tx.flush();
      await this.writeRules(tx, segment, input.rules);
      await this.record(
        tx,
        p,
        project,
        segment,
        ChangeType.CREATE,
        `New Segment created: ${segment.name}`,
        {
          before: null,
          rules: input.rules,
        },
      );
      touchEnvironments(tx, { projectId: project.id });
      return segment;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    segment: Segment,
    input: UpdateSegmentInput,
  ): Promise<Segment> {
    if (input.name === null) throw new ValidationError('input.name', 'must not be null');
    if (input.rules === null) throw new ValidationError('input.rules', 'must not be null');
    if (input.rules) validateRules(input.rules, 'input.rules');
    return em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, segment.project.id);
      const oldRules = (await this.ruleTrees(tx, [segment.id])).get(segment.id) ?? [];
      const before = { ...snapshot(segment), rules: oldRules.map(plainRule) };
      if (input.name !== undefined) segment.name = input.name.trim();
      if (input.description !== undefined) segment.description = input.description;
      if (input.rules) {
        await tx.nativeDelete(SegmentRule, { segment: segment.id });
        await this.writeRules(tx, segment, input.rules);
      }
      // Rules live in other tables: the segment changed even if its own row did not.
      segment.updatedAt = new Date();
      await tx.flush();
      await this.record(
        tx,
        p,
        project,
        segment,
        ChangeType.UPDATE,
        `Segment updated: ${segment.name}`,
        {
          before,
          rules: input.rules ?? oldRules,
        },
      );
      touchEnvironments(tx, { projectId: project.id });
      return segment;
    });
  }

  /** Deletes a segment with its overrides; the remaining overrides close ranks. */
  async delete(em: EntityManager, p: PermissionService, segment: Segment): Promise<void> {
    await em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, segment.project.id);
      const rules = (await this.ruleTrees(tx, [segment.id])).get(segment.id) ?? [];
      await this.audit.record(tx, p, {
        ...auditScope(project),
        type: AuditObjectType.SEGMENT,
        objectId: segment.id,
        objectUuid: segment.uuid,
        change: ChangeType.DELETE,
        log: `Segment deleted: ${segment.name}`,
        before: { ...snapshot(segment), rules: rules.map(plainRule) },
      });
      const overrides = await tx.find(FeatureSegment, { segment: segment.id });
      await tx.nativeDelete(Segment, { id: segment.id });
      const groups = new Map(
        overrides.map((o) => [`${o.feature.id}:${o.environment.id}`, o] as const),
      );
      for (const o of groups.values()) {
        await renumberOverrides(tx, o.feature.id, o.environment.id);
      }
      touchEnvironments(tx, { projectId: project.id });
    });
  }

  /**
   * A segment's rule tree. Calls made while one request resolves (a list of segments) are
   * answered together: one query per table for all of them.
   */
  rulesOf(em: EntityManager, segment: Segment): Promise<SegmentRuleNode[]> {
    let batch = this.batches.get(em);
    if (!batch) {
      const ids = new Set<number>();
      const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.batches.delete(em);
        return this.ruleTrees(em, [...ids]);
      });
      batch = { ids, result };
      this.batches.set(em, batch);
    }
    batch.ids.add(segment.id);
    return batch.result.then((trees) => trees.get(segment.id) ?? []);
  }

  /** The rule trees of some segments (see `loadRuleTrees`). */
  ruleTrees(
    em: EntityManager,
    segmentIds: readonly number[],
  ): Promise<Map<number, SegmentRuleNode[]>> {
    return loadRuleTrees(em, segmentIds);
  }

  /**
   * Inserts a validated rule tree, one nesting level per flush: a rule's row needs its
   * parent's id (each rule has exactly one parent, enforced by a check constraint).
   */
  async writeRules(
    tx: EntityManager,
    segment: Segment,
    rules: readonly RuleShape[],
  ): Promise<void> {
    let level = rules.map((input, position) => ({
      input,
      rule: tx.create(SegmentRule, { segment, type: input.type, position }),
    }));
    while (level.length > 0) {
      await tx.flush();
      const next: typeof level = [];
      for (const { input, rule } of level) {
        for (const [position, c] of (input.conditions ?? []).entries()) {
          tx.create(SegmentCondition, { rule, position, ...storedCondition(c) });
        }
        for (const [position, child] of (input.rules ?? []).entries()) {
          next.push({
            input: child,
            rule: tx.create(SegmentRule, { parentRule: rule, type: child.type, position }),
          });
        }
      }
      level = next;
    }
    await tx.flush();
  }

  /** A feature of this project the caller can see, or bad input as if it did not exist. */
  private async projectFeature(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    rawId: string,
    field: string,
  ): Promise<Feature> {
    const feature = await loadVisible(em, p, 'feature', rawId, field, 'mutation');
    if (!(feature instanceof Feature) || feature.project.id !== project.id)
      throw new ValidationError(field, "must be a feature of the segment's project");
    return feature;
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    project: Project,
    segment: Segment,
    change: ChangeType,
    log: string,
    data: {
      before: Record<string, unknown> | null;
      rules: readonly (RuleShape | SegmentRuleNode)[];
    },
  ): Promise<void> {
    await this.audit.record(tx, p, {
      ...auditScope(project),
      type: AuditObjectType.SEGMENT,
      objectId: segment.id,
      objectUuid: segment.uuid,
      change,
      log,
      before: data.before,
      after: { ...snapshot(segment), rules: data.rules.map(plainRule) },
    });
  }
}

/**
 * The rule trees of some segments, with one query for all their rules (however deeply
 * nested) and one for all their conditions.
 */
export async function loadRuleTrees(
  em: EntityManager,
  segmentIds: readonly number[],
): Promise<Map<number, SegmentRuleNode[]>> {
  const trees = new Map<number, SegmentRuleNode[]>();
  if (segmentIds.length === 0) return trees;
  const rows: EntityDictionary<SegmentRule>[] = await em.getConnection().execute(
    `with recursive tree as (
         select r.* from segment_rules r where r.segment_id in (?)
         union all
         select c.* from segment_rules c join tree t on c.parent_rule_id = t.id
       ) select * from tree`,
    [[...segmentIds]],
    'all',
    em.getTransactionContext(),
  );
  const rules = rows.map((row) => em.map(SegmentRule, row));
  const conditions = rules.length
    ? await em.find(
        SegmentCondition,
        { rule: { $in: rules.map((r) => r.id) } },
        { orderBy: { position: 'asc', id: 'asc' } },
      )
    : [];
  const byPosition = (a: SegmentRule, b: SegmentRule) => a.position - b.position || a.id - b.id;
  const children = groupBy(
    rules.filter((r) => r.parentRule).sort(byPosition),
    (r) => r.parentRule!.id,
  );
  const conditionsOf = groupBy(conditions, (c) => c.rule.id);
  const toNode = (rule: SegmentRule): SegmentRuleNode =>
    Object.assign(new SegmentRuleNode(), {
      type: rule.type,
      conditions: conditionsOf.get(rule.id) ?? [],
      rules: (children.get(rule.id) ?? []).map(toNode),
    });
  const topLevel = groupBy(rules.filter((r) => r.segment).sort(byPosition), (r) => r.segment!.id);
  for (const id of segmentIds) trees.set(id, (topLevel.get(id) ?? []).map(toNode));
  return trees;
}

function snapshot(segment: Segment): Record<string, unknown> {
  return {
    name: segment.name,
    description: segment.description ?? null,
    featureId: segment.feature?.id ?? null,
  };
}

function plainRule(rule: RuleShape | SegmentRuleNode): PlainRule {
  return {
    type: rule.type,
    conditions: (rule.conditions ?? []).map((c) => {
      const s = storedCondition(c);
      return { operator: s.operator, property: s.property, value: s.value };
    }),
    rules: (rule.rules ?? []).map(plainRule),
  };
}
