import type { UsageRecorder } from '../usage/usage-recorder';
import { readJson, send } from './http';
import {
  isObject,
  NOT_BLANK,
  NOT_BOOLEAN,
  NOT_NULL,
  NOT_STRING,
  pythonType,
  REQUIRED,
} from './identify-request';
import type { SdkHandler, SdkRoute } from './sdk.router';

type FieldErrors = Record<string, unknown>;
type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** `{feature_name: count}` (sdk-rest-api.md §10.1): entries whose count is no integer are dropped. */
function parseV1(body: unknown): Parsed<[string, number][]> {
  if (!isObject(body))
    return { ok: false, errors: { non_field_errors: ['Expected a JSON object.'] } };
  const entries = Object.entries(body).filter(
    (e): e is [string, number] => typeof e[1] === 'number' && Number.isSafeInteger(e[1]),
  );
  return { ok: true, value: entries };
}

/** `{evaluations: [{feature_name, identity_identifier?, enabled_when_evaluated, count}]}` (§10.2). */
function parseV2(body: unknown): Parsed<[string, number][]> {
  if (!isObject(body)) {
    return {
      ok: false,
      errors: {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(body)}.`],
      },
    };
  }
  const list = body.evaluations;
  if (list === undefined) return { ok: false, errors: { evaluations: [REQUIRED] } };
  if (list === null) return { ok: false, errors: { evaluations: [NOT_NULL] } };
  if (!Array.isArray(list)) {
    return {
      ok: false,
      errors: { evaluations: [`Expected a list of items but got type "${pythonType(list)}".`] },
    };
  }
  const value: [string, number][] = [];
  let failed = false;
  const itemErrors = list.map((item: unknown): FieldErrors => {
    if (!isObject(item)) {
      failed = true;
      return {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(item)}.`],
      };
    }
    const errors: FieldErrors = {};
    const name = item.feature_name;
    if (name === undefined) errors.feature_name = [REQUIRED];
    else if (typeof name !== 'string') errors.feature_name = [NOT_STRING];
    else if (name.trim() === '') errors.feature_name = [NOT_BLANK];
    const identifier = item.identity_identifier;
    if (identifier !== undefined && identifier !== null && typeof identifier !== 'string')
      errors.identity_identifier = [NOT_STRING];
    const enabled = item.enabled_when_evaluated;
    if (enabled === undefined) errors.enabled_when_evaluated = [REQUIRED];
    else if (typeof enabled !== 'boolean') errors.enabled_when_evaluated = [NOT_BOOLEAN];
    const count = item.count;
    if (count === undefined) errors.count = [REQUIRED];
    else if (typeof count !== 'number' || !Number.isSafeInteger(count))
      errors.count = ['A valid integer is required.'];
    if (Object.keys(errors).length > 0) failed = true;
    else value.push([name as string, count as number]);
    return errors;
  });
  return failed ? { ok: false, errors: { evaluations: itemErrors } } : { ok: true, value };
}

function analyticsHandler(
  usage: UsageRecorder,
  parse: (body: unknown) => Parsed<[string, number][]>,
  status: 200 | 204,
): SdkHandler {
  return async (call, { environmentId }) => {
    const body = await readJson(call);
    if (!body.ok) return;
    const parsed = parse(body.value);
    if (!parsed.ok) {
      send(call, 400, parsed.errors);
      return;
    }
    for (const [name, count] of parsed.value) usage.countEvaluation(environmentId, name, count);
    send(call, status);
  };
}

/**
 * Flag analytics from the SDKs, counted into the usage recorder (never written per request):
 * `/api/v1/analytics/flags/` and `/api/v2/analytics/flags/`. Unknown feature names are
 * dropped when the counts are written.
 */
export function analyticsRoutes(usage: UsageRecorder): [string, SdkRoute][] {
  return [
    ['/api/v1/analytics/flags/', { methods: { POST: analyticsHandler(usage, parseV1, 200) } }],
    ['/api/v2/analytics/flags/', { methods: { POST: analyticsHandler(usage, parseV2, 204) } }],
  ];
}
