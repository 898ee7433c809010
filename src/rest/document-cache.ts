import type { MikroORM } from '@mikro-orm/core';
import {
  evaluate,
  type EvaluationContext,
  type FeatureContext,
  mapEnvironmentDocumentToContext,
  type SegmentContext,
} from '../engine';
import { buildEnvironmentDocument, pythonIsoFormat } from '../environments/document.builder';
import type { EnvironmentDocument } from '../environments/document.types';
import type { KeyOrigin } from './sdk-cache';
import { type FlagObject, toFlagObjects } from './flags';

/** What flag objects need of a feature beyond the document (sdk-rest-api.md §4). */
export interface FeatureInfo {
  readonly created_date: string;
  readonly description: string | null;
  readonly initial_value: string | null;
  readonly default_enabled: boolean;
}

/** A feature state's database ids, by its UUID (`featurestate_uuid`). */
export interface StateInfo {
  readonly id: number;
  readonly featureSegmentId: number | null;
  readonly identityId: number | null;
}

/** An identity's overrides: feature id → state UUID. */
export interface IdentityOverrideInfo {
  readonly identityId: number | null;
  readonly states: ReadonlyMap<number, string>;
}

/** One environment as the SDK endpoints serve it, built once per change. */
export interface CachedEnvironment {
  /** Unique to this build in this process: a short name for this document and version. */
  readonly serial: number;
  readonly version: string;
  readonly updatedAt: Date;
  /** `X-Flagsmith-Document-Updated-At`: Unix seconds as Python prints a float. */
  readonly updatedAtHeader: string;
  readonly document: EnvironmentDocument;
  readonly documentJson: Buffer;
  /**
   * The evaluation context without identity; every feature and segment override carries
   * `metadata.fs` = its state UUID, so a flag can name the state that won.
   */
  readonly context: EvaluationContext;
  /** The context's segments minus the synthetic identity-override ones. */
  readonly segmentsWithoutIdentityOverrides: { readonly [key: string]: SegmentContext };
  readonly features: ReadonlyMap<number, FeatureInfo>;
  readonly states: ReadonlyMap<string, StateInfo>;
  readonly identityOverrides: ReadonlyMap<string, IdentityOverrideInfo>;
  /** `GET /flags/` per key origin, as objects and as the response body. */
  readonly environmentFlags: Readonly<Record<KeyOrigin, readonly FlagObject[]>>;
  readonly environmentFlagsJson: Readonly<Record<KeyOrigin, Buffer>>;
  /**
   * Serialised identity flag objects by state UUID and variant key (`''` for none), filled
   * by `identityFlagsJson` as identities are served.
   */
  readonly flagJson: Map<string, Map<string, string>>;
}

let serials = 0;

/** Python's `str(float)` of a Unix time in seconds. */
export function unixSeconds(date: Date): string {
  const seconds = date.getTime() / 1000;
  return Number.isInteger(seconds) ? `${seconds}.0` : String(seconds);
}

/** DRF's rendering of a datetime: ISO-8601 with microseconds when non-zero, `Z` for UTC. */
export function drfDate(date: Date): string {
  return pythonIsoFormat(date).replace(/\+00:00$/, 'Z');
}

interface FeatureRow {
  readonly id: number;
  readonly created_at: Date | string;
  readonly description: string | null;
  readonly initial_value: string | null;
  readonly default_enabled: boolean;
}

interface StateRow {
  readonly id: number;
  readonly uuid: string;
  readonly feature_segment_id: number | null;
  readonly identity_id: number | null;
}

/**
 * Reads one environment and prepares everything its SDK requests need: the document, its
 * JSON, the evaluation context and the environment flags per key origin. `stamp` is the
 * version and `updated_at` read before (the SDK cache's state for it).
 */
export async function buildCachedEnvironment(
  orm: MikroORM,
  environmentId: number,
  stamp: { readonly version: string; readonly updatedAt: Date },
): Promise<CachedEnvironment> {
  const em = orm.em.fork();
  const document = await buildEnvironmentDocument(em, environmentId);
  const connection = em.getConnection();
  const featureRows: FeatureRow[] = await connection.execute(
    'select id, created_at, description, initial_value, default_enabled from features where project_id = ?',
    [document.project.id],
    'all',
  );
  const stateRows: StateRow[] = await connection.execute(
    'select id, uuid, feature_segment_id, identity_id from feature_states where environment_id = ?',
    [environmentId],
    'all',
  );
  const features = new Map<number, FeatureInfo>(
    featureRows.map((f) => [
      f.id,
      {
        created_date: drfDate(new Date(f.created_at)),
        description: f.description,
        initial_value: f.initial_value,
        default_enabled: f.default_enabled,
      },
    ]),
  );
  const states = new Map<string, StateInfo>(
    stateRows.map((s) => [
      s.uuid,
      { id: s.id, featureSegmentId: s.feature_segment_id, identityId: s.identity_id },
    ]),
  );
  const identityOverrides = new Map<string, IdentityOverrideInfo>(
    document.identity_overrides.map((o) => [
      o.identifier,
      {
        identityId: o.django_id,
        states: new Map(o.identity_features.map((s) => [s.feature.id, s.featurestate_uuid])),
      },
    ]),
  );

  const { context, segmentsWithoutIdentityOverrides } = tagContext(document);
  const partial = {
    serial: (serials += 1),
    version: stamp.version,
    updatedAt: stamp.updatedAt,
    updatedAtHeader: unixSeconds(stamp.updatedAt),
    document,
    documentJson: Buffer.from(JSON.stringify(document)),
    context,
    segmentsWithoutIdentityOverrides,
    features,
    states,
    identityOverrides,
    flagJson: new Map<string, Map<string, string>>(),
  };
  // Environment flags: defaults only, no segments, no identity.
  const result = evaluate({ environment: context.environment, features: context.features });
  const environmentFlags = {
    CLIENT: toFlagObjects(partial, result, { clientKey: true }),
    SERVER: toFlagObjects(partial, result, { clientKey: false }),
  };
  return {
    ...partial,
    environmentFlags,
    environmentFlagsJson: {
      CLIENT: Buffer.from(JSON.stringify(environmentFlags.CLIENT)),
      SERVER: Buffer.from(JSON.stringify(environmentFlags.SERVER)),
    },
  };
}

/**
 * The document's context with each feature state's UUID in its metadata (`fs`). The
 * mapper keys project segments by position and keeps their overrides in document order,
 * which is how the UUIDs are matched back.
 */
function tagContext(document: EnvironmentDocument): {
  context: EvaluationContext;
  segmentsWithoutIdentityOverrides: { [key: string]: SegmentContext };
} {
  const mapped = mapEnvironmentDocumentToContext(document);
  const tag = (feature: FeatureContext, uuid: string | undefined): FeatureContext =>
    uuid === undefined ? feature : { ...feature, metadata: { ...feature.metadata, fs: uuid } };

  // Built with fromEntries: a feature named `__proto__` stays an own property.
  const features: [string, FeatureContext][] = [];
  for (const state of document.feature_states) {
    const feature = mapped.features?.[state.feature.name];
    if (feature) features.push([state.feature.name, tag(feature, state.featurestate_uuid)]);
  }
  const segments: [string, SegmentContext][] = [];
  const projectSegments = document.project.segments;
  for (const [key, segment] of Object.entries(mapped.segments ?? {})) {
    const source = /^\d+$/.test(key) ? projectSegments[Number(key)] : undefined;
    segments.push([
      key,
      source
        ? {
            ...segment,
            overrides: (segment.overrides ?? []).map((o, i) =>
              tag(o, source.feature_states[i]?.featurestate_uuid),
            ),
          }
        : segment,
    ]);
  }
  const isProjectSegment = ([key]: [string, SegmentContext]): boolean => /^\d+$/.test(key);
  return {
    context: {
      environment: mapped.environment,
      identity: null,
      segments: Object.fromEntries(segments),
      features: Object.fromEntries(features),
    },
    segmentsWithoutIdentityOverrides: Object.fromEntries(segments.filter(isProjectSegment)),
  };
}
