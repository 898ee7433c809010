import { createHash } from 'node:crypto';
import {
  evaluate,
  type EvaluationResult,
  type FlagResult,
  type FlagValue,
  type LegacyFlag,
  mapResultToLegacyFlags,
  type TraitValue,
} from '../engine';
import { ApiUsageKind } from '../usage/api-usage.entity';
import type { UsageRecorder } from '../usage/usage-recorder';
import type { AnswerCache } from './answer-cache';
import type { CachedEnvironment } from './document-cache';
import { type BodyRefusal, header, readJson, type SdkCall, send } from './http';
import { type OfrepContext, parseOfrepRequest } from './ofrep-context';
import { KEY_ERRORS, type KeyOrigin, type SdkCache } from './sdk-cache';
import type { SdkRoute } from './sdk.router';

/**
 * The OpenFeature Remote Evaluation Protocol (OFREP, open-feature/protocol
 * service/openapi.yaml) on the SDK data plane:
 * - `POST /ofrep/v1/evaluate/flags/{key}`: one flag (server providers);
 * - `POST /ofrep/v1/evaluate/flags`: every flag, with `ETag` / `If-None-Match` (client
 *   providers).
 *
 * The context's `targetingKey` is the identity's identifier and its other fields are
 * traits. The identity is transient: nothing is stored, and stored traits and identity
 * overrides are not read — the answer is `POST /api/v1/identities/` with `"transient": true`
 * for an identifier that has not been stored. Without a `targetingKey` the flags are the
 * environment's (`GET /api/v1/flags/`). Flags hidden from the key (server-key-only features
 * for client keys, disabled flags when the project hides them) do not exist here.
 *
 * Values: the flag's value; for a flag without a value, its enabled state. A string value
 * holding a JSON object is answered as that object. Reasons: DISABLED for a disabled flag
 * (the value is still the flag's), else SPLIT (a multivariate option), TARGETING_MATCH (a
 * segment override), DEFAULT (an identity that nothing targeted) or STATIC (no identity).
 */

/** The single-flag path, up to the key. */
export const OFREP_FLAG_PREFIX = '/ofrep/v1/evaluate/flags/';
export const OFREP_BULK_PATH = '/ofrep/v1/evaluate/flags';

/** The metadata every answer carries (OFREP allows only flat primitive values). */
export interface OfrepMetadata {
  readonly featureId: number;
  readonly enabled: boolean;
}

export interface OfrepSuccess {
  readonly key: string;
  readonly value: unknown;
  readonly reason: 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT' | 'DISABLED';
  readonly variant?: string;
  readonly metadata: OfrepMetadata;
}

/** The key: `X-API-Key`, else `Authorization: Bearer …`, else `X-Environment-Key`. */
export function ofrepKey(call: SdkCall): string {
  const apiKey = header(call, 'x-api-key')?.trim();
  if (apiKey) return apiKey;
  const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(header(call, 'authorization') ?? '')?.[1];
  if (bearer) return bearer;
  return header(call, 'x-environment-key')?.trim() ?? '';
}

/** `{errorCode, errorDetails}` (with `key` on the single-flag path, as OFREP requires). */
function failure(
  call: SdkCall,
  status: number,
  errorCode: string,
  errorDetails: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const key = flagKeyOf(call);
  send(
    call,
    status,
    key === null ? { errorCode, errorDetails } : { key, errorCode, errorDetails },
    headers,
  );
}

/** The flag key of a single-flag request, or null on the bulk path. */
function flagKeyOf(call: SdkCall): string | null {
  if (!call.path.startsWith(OFREP_FLAG_PREFIX)) return null;
  const raw = call.path.slice(OFREP_FLAG_PREFIX.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Key, method and server failures in OFREP's shape: 401 for no or an unknown key. */
function refuse(call: SdkCall, status: 403 | 405 | 500 | 503, detail: string): void {
  if (status === 403) {
    failure(call, detail === KEY_ERRORS.stopped ? 403 : 401, 'GENERAL', detail);
  } else if (status === 405) {
    failure(call, 405, 'GENERAL', detail, { Allow: 'POST, OPTIONS' });
  } else {
    failure(call, status, 'GENERAL', detail);
  }
}

/** Body errors: malformed JSON is PARSE_ERROR with 400; 413 and 415 keep their status. */
const bodyRefusal: BodyRefusal = (call, status, detail) =>
  failure(call, status, 'PARSE_ERROR', detail);

/** OFREP's value: the flag's; its enabled state when it has none; a JSON object string parsed. */
export function ofrepValue(value: FlagValue, enabled: boolean): unknown {
  if (value === null) return enabled;
  if (typeof value === 'string' && value.startsWith('{') && value.endsWith('}')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
    } catch {
      // Not JSON after all: a string.
    }
  }
  return value;
}

function ofrepReason(flag: FlagResult, identified: boolean): OfrepSuccess['reason'] {
  if (!flag.enabled) return 'DISABLED';
  if (flag.reason.startsWith('SPLIT')) return 'SPLIT';
  if (flag.reason.startsWith('TARGETING_MATCH')) return 'TARGETING_MATCH';
  return identified ? 'DEFAULT' : 'STATIC';
}

function toOfrep(flag: LegacyFlag, evaluated: FlagResult, identified: boolean): OfrepSuccess {
  const variant = flag.variant ?? undefined;
  return {
    key: flag.feature.name,
    value: ofrepValue(evaluated.value, evaluated.enabled),
    reason: ofrepReason(evaluated, identified),
    ...(variant !== undefined && { variant }),
    metadata: { featureId: flag.feature.id, enabled: evaluated.enabled },
  };
}

/**
 * Evaluates the context's flags — only `name` when given — as `/api/v1/identities/` would
 * for a new transient identity, filtered as the key may see them, in document order.
 */
export function evaluateOfrep(
  entry: CachedEnvironment,
  origin: KeyOrigin,
  context: OfrepContext,
  name?: string,
): OfrepSuccess[] {
  const all = entry.context.features ?? {};
  const features =
    name === undefined ? all : Object.hasOwn(all, name) ? { [name]: all[name]! } : undefined;
  if (features === undefined) return [];
  const { document } = entry;
  let result: EvaluationResult;
  const identified = context.identifier !== null;
  if (context.identifier === null) {
    result = evaluate({ environment: entry.context.environment, features });
  } else {
    const clientTraits = document.allow_client_traits || origin === 'SERVER';
    const traits = Object.fromEntries(
      clientTraits ? context.traits.map(([k, v]): [string, TraitValue] => [k, v.value]) : [],
    );
    result = evaluate({
      ...entry.context,
      features,
      identity: { identifier: context.identifier, traits },
      segments: entry.segmentsWithoutIdentityOverrides,
    });
  }
  const flags = mapResultToLegacyFlags(result, document, {
    clientKey: origin === 'CLIENT',
    withVariant: true,
  });
  return flags.map((flag) => toOfrep(flag, result.flags[flag.feature.name]!, identified));
}

/** A strong validator for a bulk answer: its bytes' hash. */
function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** `If-None-Match`: `*`, or a list of (possibly weak) tags. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/** Reads and parses the request; answers and returns null when it cannot be evaluated. */
async function readContext(
  call: SdkCall,
  usage: UsageRecorder,
  environmentId: number,
): Promise<OfrepContext | null> {
  const body = await readJson(call, bodyRefusal);
  const parsed = body.ok ? parseOfrepRequest(body.value) : null;
  const identified = parsed?.ok === true && parsed.value.identifier !== null;
  usage.countRequest(environmentId, identified ? ApiUsageKind.IDENTITIES : ApiUsageKind.FLAGS);
  if (parsed === null) return null;
  if (!parsed.ok) {
    failure(call, 400, parsed.code, parsed.details);
    return null;
  }
  return parsed.value;
}

/**
 * The OFREP routes for `SdkApi`. Requests count as FLAGS usage without a `targetingKey` and
 * as IDENTITIES with one. Bulk answers are remembered in `answers` per document, key origin
 * and context, with their ETags.
 */
export function ofrepRoutes(
  cache: SdkCache,
  usage: UsageRecorder,
  answers: AnswerCache,
): [string, SdkRoute][] {
  const etags = new WeakMap<Buffer, string>();
  const common = { key: ofrepKey, refuse } as const;

  const single: SdkRoute = {
    ...common,
    methods: {
      POST: async (call, { environmentId, origin }) => {
        const context = await readContext(call, usage, environmentId);
        if (context === null) return;
        const name = flagKeyOf(call) ?? '';
        const entry = await cache.environment(environmentId);
        const [flag] = evaluateOfrep(entry, origin, context, name);
        if (flag) send(call, 200, flag);
        else failure(call, 404, 'FLAG_NOT_FOUND', `Flag "${name}" was not found.`);
      },
    },
  };

  const bulk: SdkRoute = {
    ...common,
    methods: {
      POST: async (call, { environmentId, origin }) => {
        const context = await readContext(call, usage, environmentId);
        if (context === null) return;
        const entry = await cache.environment(environmentId);
        const key = `ofrep|${entry.serial}|${origin}|${JSON.stringify(context)}`;
        let body = answers.get(key);
        if (body === undefined) {
          body = Buffer.from(JSON.stringify({ flags: evaluateOfrep(entry, origin, context) }));
          answers.set(key, body);
        }
        let etag = etags.get(body);
        if (etag === undefined) etags.set(body, (etag = etagOf(body)));
        if (matches(header(call, 'if-none-match'), etag)) {
          send(call, 304, undefined, { ETag: etag });
          return;
        }
        send(call, 200, body, { ETag: etag });
      },
    },
  };

  return [
    [OFREP_BULK_PATH, bulk],
    [OFREP_FLAG_PREFIX, single],
  ];
}
