import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType } from '../../audit/audit.service';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../../features/feature-state.entity';
import {
  type OptionColumns,
  optionColumns,
  typedValue,
  typeInitialValue,
} from '../../features/feature-value';
import { Feature, FeatureType } from '../../features/feature.entity';
import { MultivariateOption } from '../../features/multivariate-option.entity';
import { Identity } from '../../identities/identity.entity';
import { Organisation } from '../../organisations/organisation.entity';
import type { PermissionService } from '../../permissions/permission.service';
import { Project } from '../../projects/project.entity';
import type { RuleShape } from '../../segments/condition-rules';
import { storedCondition } from '../../segments/condition-rules';
import { Segment, SegmentRule } from '../../segments/segment.entity';
import type { SegmentService } from '../../segments/segment.service';
import { ValidationError } from '../../shared/errors';
import { sha256Hex, shortUuid } from '../../shared/ids';
import { Environment } from '../environment.entity';
import { SERVER_KEY_PREFIX, ServerSideKey } from '../server-side-key.entity';
import { touchEnvironments } from '../touch';
import type { ImportedDocument, ImportedFeatureState, ImportedRule } from './document.schema';

/** Where an import lands: an organisation (found or made by name) and a project name. */
export interface ImportTarget {
  readonly organisation: Organisation | { readonly name: string };
  readonly projectName?: string;
}

export interface ImportResult {
  readonly organisation: Organisation;
  readonly project: Project;
  readonly environment: Environment;
  /** False when the database already held exactly this document. */
  readonly changed: boolean;
  readonly environmentCreated: boolean;
  /** A new server-side key, made when the import created the environment. Shown once. */
  readonly serverSideKey: string | null;
}

/** Counts the writes an import makes, so that a repeated import can say it changed nothing. */
class Changes {
  count = 0;

  /** Sets `target[key]` when it differs (null and undefined are the same). */
  set<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): void {
    if ((target[key] ?? null) !== (value ?? null)) {
      target[key] = value;
      this.count += 1;
    }
  }
}

function sameOptionValue(a: MultivariateOption, b: OptionColumns): boolean {
  return (
    a.type === b.type &&
    (a.stringValue ?? null) === (b.stringValue ?? null) &&
    (a.integerValue ?? null) === (b.integerValue ?? null) &&
    (a.booleanValue ?? null) === (b.booleanValue ?? null)
  );
}

/** A rule tree in one comparable form, whether it came from the document or the database. */
function canonicalRules(rules: readonly RuleShape[]): string {
  const walk = (list: readonly RuleShape[]): unknown[] =>
    list.map((r) => ({
      type: r.type,
      conditions: (r.conditions ?? []).map((c) => {
        const s = storedCondition(c);
        return [s.operator, s.property, s.value];
      }),
      rules: walk(r.rules ?? []),
    }));
  return JSON.stringify(walk(rules));
}

function toRuleShapes(rules: readonly ImportedRule[]): RuleShape[] {
  return rules.map((r) => ({
    type: r.type,
    conditions: r.conditions.map((c) => ({
      operator: c.operator,
      property: c.property_ ?? null,
      value: c.value,
    })),
    rules: toRuleShapes(r.rules),
  }));
}

/**
 * Imports a Flagsmith environment document: organisation, project, the environment with its
 * client key kept, features, multivariate options, segments, segment overrides and identity
 * overrides. One transaction; a second import of the same document writes nothing.
 */
export class ImportService {
  constructor(
    private readonly audit: AuditService,
    private readonly segments: SegmentService,
  ) {}

  async importEnvironment(
    em: EntityManager,
    p: PermissionService,
    doc: ImportedDocument,
    target: ImportTarget,
  ): Promise<ImportResult> {
    return em.transactional(async (tx) => {
      const changes = new Changes();
      const organisation = await this.organisation(tx, target, changes);
      const projectName = target.projectName ?? doc.project.name ?? 'Imported project';
      let project = await tx.findOne(Project, { organisation, name: projectName });
      if (!project) {
        project = tx.create(Project, { organisation, name: projectName });
        changes.count += 1;
      }
      if (doc.project.hide_disabled_flags != null)
        changes.set(project, 'hideDisabledFlags', doc.project.hide_disabled_flags);
      if (doc.project.enable_realtime_updates != null)
        changes.set(project, 'enableRealtimeUpdates', doc.project.enable_realtime_updates);

      const { environment, created } = await this.environment(tx, project, doc, changes);
      await tx.flush();

      const features = await this.features(tx, project, environment, doc, changes);
      const options = await this.options(tx, features, doc, changes);
      await tx.flush();

      // Environment defaults.
      const defaults = new Map(
        (await tx.find(FeatureState, { environment, identity: null, featureSegment: null })).map(
          (s) => [s.feature.id, s],
        ),
      );
      for (const ds of doc.feature_states) {
        const feature = features.get(ds.feature.name.toLowerCase())!;
        let state = defaults.get(feature.id);
        if (!state) {
          state = tx.create(FeatureState, { feature, environment });
          defaults.set(feature.id, state);
          changes.count += 1;
        }
        await this.applyState(tx, state, ds, options, changes);
      }
      await this.segmentsAndOverrides(tx, project, environment, doc, features, options, changes);
      await this.identityOverrides(tx, environment, doc, features, options, changes);

      let serverSideKey: string | null = null;
      if (created) {
        serverSideKey = SERVER_KEY_PREFIX + shortUuid();
        tx.create(ServerSideKey, {
          environment,
          name: 'Imported',
          keyHash: sha256Hex(serverSideKey),
          keyPrefix: serverSideKey.slice(0, SERVER_KEY_PREFIX.length + 4),
        });
      }
      await tx.flush();
      if (changes.count > 0) {
        await this.audit.record(tx, p, {
          organisationId: organisation.id,
          projectId: project.id,
          environmentId: environment.id,
          type: AuditObjectType.ENVIRONMENT,
          objectId: environment.id,
          objectUuid: environment.uuid,
          change: created ? ChangeType.CREATE : ChangeType.UPDATE,
          log: `Environment imported from a Flagsmith document: ${environment.name}`,
          after: { apiKey: environment.apiKey, writes: changes.count },
        });
        touchEnvironments(tx, { environmentId: environment.id });
      }
      return {
        organisation,
        project,
        environment,
        changed: changes.count > 0,
        environmentCreated: created,
        serverSideKey,
      };
    });
  }

  private async organisation(
    tx: EntityManager,
    target: ImportTarget,
    changes: Changes,
  ): Promise<Organisation> {
    if (target.organisation instanceof Organisation) return target.organisation;
    const name = target.organisation.name;
    const found = await tx.find(Organisation, { name }, { orderBy: { id: 'asc' }, limit: 1 });
    if (found[0]) return found[0];
    changes.count += 1;
    return tx.create(Organisation, { name });
  }

  private async environment(
    tx: EntityManager,
    project: Project,
    doc: ImportedDocument,
    changes: Changes,
  ): Promise<{ environment: Environment; created: boolean }> {
    let environment = await tx.findOne(Environment, { apiKey: doc.api_key });
    let created = false;
    if (environment && environment.project.id !== project.id) {
      throw new ValidationError(
        'document.api_key',
        'another project already has an environment with this client key',
      );
    }
    if (!environment) {
      environment = tx.create(Environment, {
        project,
        apiKey: doc.api_key,
        name: doc.name ?? 'Imported',
      });
      created = true;
      changes.count += 1;
      // Features the project already has get their default here, as on any new environment.
      for (const feature of await tx.find(Feature, { project })) {
        tx.create(FeatureState, {
          feature,
          environment,
          enabled: project.preventFlagDefaults ? false : feature.defaultEnabled,
          ...typeInitialValue(project.preventFlagDefaults ? null : feature.initialValue),
        });
      }
    }
    if (doc.name != null) changes.set(environment, 'name', doc.name);
    const settings = [
      ['allowClientTraits', doc.allow_client_traits],
      ['hideSensitiveData', doc.hide_sensitive_data],
      ['useIdentityCompositeKeyForHashing', doc.use_identity_composite_key_for_hashing],
      ['useIdentityOverridesInLocalEval', doc.use_identity_overrides_in_local_eval],
    ] as const;
    for (const [key, value] of settings) if (value != null) changes.set(environment, key, value);
    if (doc.hide_disabled_flags !== undefined)
      changes.set(environment, 'hideDisabledFlags', doc.hide_disabled_flags);
    return { environment, created };
  }

  /** Every feature the document names, by lower-case name; missing ones are created. */
  private async features(
    tx: EntityManager,
    project: Project,
    environment: Environment,
    doc: ImportedDocument,
    changes: Changes,
  ): Promise<Map<string, Feature>> {
    const mentioned = [
      ...doc.feature_states,
      ...doc.project.segments.flatMap((s) => s.feature_states),
      ...(doc.identity_overrides ?? []).flatMap((o) => o.identity_features),
    ].map((s) => s.feature);
    const byName = new Map(
      (await tx.find(Feature, { project })).map((f) => [f.name.toLowerCase(), f]),
    );
    const otherEnvironments = await tx.find(Environment, { project, id: { $ne: environment.id } });
    const serverOnly = doc.project.server_key_only_feature_ids
      ? new Set(doc.project.server_key_only_feature_ids)
      : null;
    for (const ref of mentioned) {
      const key = ref.name.toLowerCase();
      let feature = byName.get(key);
      if (!feature) {
        feature = tx.create(Feature, { project, name: ref.name });
        byName.set(key, feature);
        changes.count += 1;
        for (const other of otherEnvironments) {
          tx.create(FeatureState, { feature, environment: other, ...typeInitialValue(null) });
        }
      }
      if (serverOnly) changes.set(feature, 'isServerKeyOnly', serverOnly.has(ref.id));
    }
    return byName;
  }

  /**
   * The multivariate options the document's states use, per feature, keyed by the option's
   * identity in the document (key, else value). Missing ones are created in document order.
   */
  private async options(
    tx: EntityManager,
    features: ReadonlyMap<string, Feature>,
    doc: ImportedDocument,
    changes: Changes,
  ): Promise<Map<string, MultivariateOption>> {
    const states = [
      ...doc.feature_states,
      ...doc.project.segments.flatMap((s) => s.feature_states),
      ...(doc.identity_overrides ?? []).flatMap((o) => o.identity_features),
    ];
    const defaults = new Map(doc.feature_states.map((s) => [s.feature.name.toLowerCase(), s]));
    const result = new Map<string, MultivariateOption>();
    const existing = await tx.find(MultivariateOption, {
      feature: { $in: [...features.values()].filter((f) => f.id !== undefined) },
    });
    for (const state of states) {
      const feature = features.get(state.feature.name.toLowerCase())!;
      for (const mv of sortedValues(state)) {
        const docKey = optionKey(feature, mv.multivariate_feature_option);
        if (result.has(docKey)) continue;
        const wanted = optionColumns(mv.multivariate_feature_option.value);
        const key = mv.multivariate_feature_option.key;
        let option = existing.find(
          (o) => o.feature.id === feature.id && (key ? o.key === key : sameOptionValue(o, wanted)),
        );
        if (!option) {
          const taken = new Set(existing.filter((o) => o.feature === feature).map((o) => o.key));
          let generated = key ?? '';
          for (let n = taken.size + 1; !generated || taken.has(generated); n++)
            generated = `variant-${n}`;
          const share = defaults
            .get(feature.name.toLowerCase())
            ?.multivariate_feature_state_values.find(
              (v) => optionKey(feature, v.multivariate_feature_option) === docKey,
            )?.percentage_allocation;
          option = tx.create(MultivariateOption, {
            feature,
            key: generated,
            defaultPercentageAllocation: String(share ?? 0),
            ...wanted,
          });
          existing.push(option);
          changes.count += 1;
        } else {
          for (const field of ['type', 'stringValue', 'integerValue', 'booleanValue'] as const)
            changes.set(option, field, wanted[field] as never);
        }
        result.set(docKey, option);
      }
    }
    for (const feature of features.values()) {
      const has = existing.some((o) => o.feature === feature);
      changes.set(feature, 'type', has ? FeatureType.MULTIVARIATE : FeatureType.STANDARD);
    }
    return result;
  }

  /** Makes a stored state say what the document's state says. */
  private async applyState(
    tx: EntityManager,
    state: FeatureState,
    ds: ImportedFeatureState,
    options: ReadonlyMap<string, MultivariateOption>,
    changes: Changes,
  ): Promise<void> {
    changes.set(state, 'enabled', ds.enabled);
    const value = typedValue(ds.feature_state_value ?? null);
    changes.set(state, 'valueType', value.valueType);
    changes.set(state, 'stringValue', value.stringValue);
    changes.set(state, 'integerValue', value.integerValue);
    changes.set(state, 'booleanValue', value.booleanValue);
    changes.set(state, 'mvHashingSalt', ds.django_id == null ? null : String(ds.django_id));

    const feature = state.feature;
    const current = state.id ? await tx.find(MultivariateStateValue, { featureState: state }) : [];
    const wanted = sortedValues(ds).map((mv) => ({
      option: options.get(optionKey(feature, mv.multivariate_feature_option))!,
      share: mv.percentage_allocation,
    }));
    for (const row of current) {
      if (!wanted.some((w) => w.option === row.option)) {
        tx.remove(row);
        changes.count += 1;
      }
    }
    for (const { option, share } of wanted) {
      const row = current.find((r) => r.option === option);
      if (!row) {
        tx.create(MultivariateStateValue, {
          featureState: state,
          option,
          percentageAllocation: String(share),
        });
        changes.count += 1;
      } else if (Number(row.percentageAllocation) !== share) {
        row.percentageAllocation = String(share);
        changes.count += 1;
      }
    }
  }

  private async segmentsAndOverrides(
    tx: EntityManager,
    project: Project,
    environment: Environment,
    doc: ImportedDocument,
    features: ReadonlyMap<string, Feature>,
    options: ReadonlyMap<string, MultivariateOption>,
    changes: Changes,
  ): Promise<void> {
    const docSegments = doc.project.segments;
    const known = new Map(
      (
        await tx.find(Segment, {
          project,
          importedId: { $in: docSegments.map((s) => s.id) },
        })
      ).map((s) => [s.importedId!, s]),
    );
    const trees = await this.segments.ruleTrees(
      tx,
      [...known.values()].map((s) => s.id),
    );
    const segmentByDocId = new Map<number, Segment>();
    for (const ds of docSegments) {
      const rules = toRuleShapes(ds.rules);
      let segment = known.get(ds.id);
      if (!segment) {
        segment = tx.create(Segment, { project, name: ds.name, importedId: ds.id });
        await tx.flush();
        await this.segments.writeRules(tx, segment, rules);
        changes.count += 1;
      } else {
        changes.set(segment, 'name', ds.name);
        if (canonicalRules(trees.get(segment.id) ?? []) !== canonicalRules(rules)) {
          await tx.nativeDelete(SegmentRule, { segment: segment.id });
          await this.segments.writeRules(tx, segment, rules);
          changes.count += 1;
        }
      }
      segmentByDocId.set(ds.id, segment);
    }

    // Overrides of each feature, strongest first, renumbered 0..n-1 (a missing priority
    // counts as weakest; ties keep document order).
    const overrides = docSegments.flatMap((ds, si) =>
      ds.feature_states.map((fs, fi) => ({ ds, fs, order: si * 10_000 + fi })),
    );
    overrides.sort(
      (a, b) =>
        (a.fs.feature_segment?.priority ?? Number.MAX_SAFE_INTEGER) -
          (b.fs.feature_segment?.priority ?? Number.MAX_SAFE_INTEGER) || a.order - b.order,
    );
    const existing = await tx.find(FeatureSegment, { environment });
    const states = new Map(
      (
        await tx.find(FeatureState, {
          environment,
          featureSegment: { $in: existing.map((e) => e.id) },
        })
      ).map((s) => [s.featureSegment!.id, s]),
    );
    const nextPriority = new Map<number, number>();
    for (const { ds, fs } of overrides) {
      const feature = features.get(fs.feature.name.toLowerCase())!;
      const segment = segmentByDocId.get(ds.id)!;
      const priority = nextPriority.get(feature.id) ?? 0;
      nextPriority.set(feature.id, priority + 1);
      let anchor = existing.find((e) => e.feature === feature && e.segment === segment);
      let state = anchor ? states.get(anchor.id) : undefined;
      if (!anchor) {
        anchor = tx.create(FeatureSegment, { feature, segment, environment, priority });
        existing.push(anchor);
        changes.count += 1;
      } else changes.set(anchor, 'priority', priority);
      if (!state) {
        state = tx.create(FeatureState, { feature, environment, featureSegment: anchor });
        changes.count += 1;
      }
      await this.applyState(tx, state, fs, options, changes);
    }
  }

  private async identityOverrides(
    tx: EntityManager,
    environment: Environment,
    doc: ImportedDocument,
    features: ReadonlyMap<string, Feature>,
    options: ReadonlyMap<string, MultivariateOption>,
    changes: Changes,
  ): Promise<void> {
    const list = doc.identity_overrides ?? [];
    if (list.length === 0) return;
    const identities = new Map(
      (
        await tx.find(Identity, {
          environment,
          identifier: { $in: list.map((o) => o.identifier) },
        })
      ).map((i) => [i.identifier, i]),
    );
    const states = await tx.find(FeatureState, {
      environment,
      identity: { $in: [...identities.values()] },
    });
    for (const entry of list) {
      let identity = identities.get(entry.identifier);
      if (!identity) {
        identity = tx.create(Identity, { environment, identifier: entry.identifier });
        identities.set(entry.identifier, identity);
        changes.count += 1;
      }
      for (const fs of entry.identity_features) {
        const feature = features.get(fs.feature.name.toLowerCase())!;
        let state = states.find((s) => s.identity === identity && s.feature === feature);
        if (!state) {
          state = tx.create(FeatureState, { feature, environment, identity });
          states.push(state);
          changes.count += 1;
        }
        await this.applyState(tx, state, fs, options, changes);
      }
    }
  }
}

type DocOption = ImportedFeatureState['multivariate_feature_state_values'][number];

/** A state's multivariate values in Flagsmith's variant order (by value id). */
function sortedValues(state: ImportedFeatureState): DocOption[] {
  return state.multivariate_feature_state_values
    .map((v, i) => ({ v, i }))
    .sort((a, b) => (a.v.id ?? Infinity) - (b.v.id ?? Infinity) || a.i - b.i)
    .map(({ v }) => v);
}

/** How the document identifies an option of a feature: its key, else its value. */
function optionKey(feature: Feature, option: DocOption['multivariate_feature_option']): string {
  const local = option.key ? `key:${option.key}` : `value:${JSON.stringify(option.value)}`;
  return `${feature.name.toLowerCase()}|${local}`;
}
