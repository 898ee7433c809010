import type { MikroORM } from '@mikro-orm/core';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { ApiUsageKind } from '../usage/api-usage.entity';
import type { UsageRecorder } from '../usage/usage-recorder';
import { environmentKey, sdkEnvironmentOf } from './environment-key';
import { pythonType } from './identify-request';

const MAX_BODY = '1mb';

type FieldErrors = Record<string, unknown>;
type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/**
 * Counts the request, under `kind`, for the environment `environmentKey()` resolved.
 * Put it after the key middleware: `router.post('/traits/', anyKey, countUsage(usage, ApiUsageKind.TRAITS), …)`.
 */
export function countUsage(usage: UsageRecorder, kind: ApiUsageKind): RequestHandler {
  return (req, _res, next) => {
    usage.countRequest(sdkEnvironmentOf(req).environmentId, kind);
    next();
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const REQUIRED = ['This field is required.'];

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
  if (list === undefined) return { ok: false, errors: { evaluations: REQUIRED } };
  if (list === null) return { ok: false, errors: { evaluations: ['This field may not be null.'] } };
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
    if (name === undefined) errors.feature_name = REQUIRED;
    else if (typeof name !== 'string') errors.feature_name = ['Not a valid string.'];
    else if (name.trim() === '') errors.feature_name = ['This field may not be blank.'];
    const identifier = item.identity_identifier;
    if (identifier !== undefined && identifier !== null && typeof identifier !== 'string')
      errors.identity_identifier = ['Not a valid string.'];
    const enabled = item.enabled_when_evaluated;
    if (enabled === undefined) errors.enabled_when_evaluated = REQUIRED;
    else if (typeof enabled !== 'boolean')
      errors.enabled_when_evaluated = ['Must be a valid boolean.'];
    const count = item.count;
    if (count === undefined) errors.count = REQUIRED;
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
): RequestHandler {
  return (req, res) => {
    const raw: unknown = req.body;
    if (raw === undefined && req.get('content-type') && Number(req.get('content-length')) > 0) {
      res
        .status(415)
        .json({ detail: `Unsupported media type "${req.get('content-type')}" in request.` });
      return;
    }
    const parsed = parse(raw ?? {});
    if (!parsed.ok) {
      res.status(400).json(parsed.errors);
      return;
    }
    const { environmentId } = sdkEnvironmentOf(req);
    for (const [name, count] of parsed.value) usage.countEvaluation(environmentId, name, count);
    res.status(status).end();
  };
}

function methodNotAllowed(req: Request, res: Response): void {
  res.setHeader('Allow', 'POST, OPTIONS');
  if (req.method === 'OPTIONS') res.status(200).end();
  else res.status(405).json({ detail: `Method "${req.method}" not allowed.` });
}

/**
 * Flag analytics from the SDKs, counted into the usage recorder (never written per request):
 * `/v1/analytics/flags/` and `/v2/analytics/flags/` relative to where it is mounted (`/api`).
 * Unknown feature names are dropped when the counts are written.
 */
export function analyticsRouter(orm: MikroORM, usage: UsageRecorder): Router {
  const anyKey = environmentKey(orm);
  const json = express.json({ limit: MAX_BODY, strict: false });
  const keyUnlessOptions: RequestHandler = (req, res, next) =>
    req.method === 'OPTIONS' ? next() : anyKey(req, res, next);
  const router = express.Router({ strict: true, caseSensitive: true });
  router
    .route('/v1/analytics/flags/')
    .post(anyKey, json, analyticsHandler(usage, parseV1, 200))
    .all(keyUnlessOptions, methodNotAllowed);
  router
    .route('/v2/analytics/flags/')
    .post(anyKey, json, analyticsHandler(usage, parseV2, 204))
    .all(keyUnlessOptions, methodNotAllowed);
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = (typeof err === 'object' && err !== null ? err : {}) as {
      type?: unknown;
      message?: unknown;
    };
    if (res.headersSent) next(err);
    else if (e.type === 'entity.parse.failed')
      res.status(400).json({ detail: `JSON parse error - ${String(e.message)}` });
    else if (e.type === 'entity.too.large')
      res.status(413).json({ detail: 'Request body is too large.' });
    else next(err);
  });
  return router;
}
