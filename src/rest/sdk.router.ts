import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../shared/logger';
import { ApiUsageKind } from '../usage/api-usage.entity';
import type { UsageRecorder } from '../usage/usage-recorder';
import { analyticsRoutes } from './analytics.router';
import { AnswerCache } from './answer-cache';
import { CORS_HEADERS, preflight } from './cors';
import { header, type SdkCall, queryParam, readJson, RequestAborted, send } from './http';
import { IDENTIFIER_LIMIT, parseIdentifyRequest, textProblem } from './identify-request';
import type { Realtime } from './realtime';
import { OFREP_FLAG_PREFIX, ofrepRoutes } from './ofrep';
import type { CachedEnvironment } from './document-cache';
import type { KeyCheck, KeyOrigin, SdkCache, SdkEnvironment } from './sdk-cache';
import { SdkIdentities } from './sdk-identities';
import { traitsRoutes } from './traits.router';

/**
 * An SDK endpoint's work for one method, after the environment key has been resolved. It
 * may answer at once and return nothing (flags from the cache: no promise, no microtask).
 */
export type SdkHandler = (call: SdkCall, environment: SdkEnvironment) => void | Promise<void>;

export interface SdkRoute {
  readonly methods: Readonly<Partial<Record<'GET' | 'POST' | 'PUT', SdkHandler>>>;
  /** Only server-side keys (`ser.…`) are accepted. */
  readonly serverOnly?: boolean;
  /** The usage kind a request with a valid key counts as. */
  readonly usage?: ApiUsageKind;
  /** Where the environment key is read from; `X-Environment-Key` by default. */
  readonly key?: (call: SdkCall) => string;
  /**
   * Answers a refused key (403), a method the route lacks (405) or a failure (500) in the
   * route's own protocol; DRF's `{detail}` by default.
   */
  readonly refuse?: (call: SdkCall, status: 403 | 405 | 500 | 503, detail: string) => void;
}

export interface SdkApiDeps {
  readonly orm: MikroORM;
  readonly cache: SdkCache;
  readonly usage: UsageRecorder;
  readonly realtime: Realtime;
  readonly logger: Logger;
  /** Memory for remembered identity responses (0: none). */
  readonly answerCacheBytes: number;
  /** Told of each answer given without the database (metrics). */
  readonly onDegraded?: (what: 'identity' | 'refused') => void;
}

/** The `detail` of an SDK request that needed the database while it was unreachable. */
export const DATABASE_UNAVAILABLE =
  'The database is unavailable; this request could not be completed. Try again shortly.';
/** Header on identity answers evaluated without the database (traits sent only, none stored). */
const DEGRADED = 'X-Flagward-Degraded';

const UPDATED_AT = 'X-Flagsmith-Document-Updated-At';
const FEATURE_NOT_FOUND = { detail: 'Given feature not found' } as const;
const STREAM = /^\/sse\/environments\/([^/]+)\/stream$/;
/** Shared by requests without a query string; only ever read. */
const NO_QUERY = new URLSearchParams();

/** A route with its `Allow` header and its label in metrics and logs, worked out once. */
type Routed = SdkRoute & { readonly allow: string; readonly label: string };

/** The realtime stream's route label: its path with the key left out. */
const STREAM_LABEL = '/sse/environments/{key}/stream';

/**
 * The Flagsmith SDK endpoints (shared/spec/sdk-rest-api.md) on plain `node:http`, in front
 * of the Express app: `handle` answers the paths it owns and returns false for every other
 * request. Requests here pass no session, passport or GraphQL middleware; flags and
 * documents come from the in-memory `SdkCache`.
 */
export class SdkApi {
  private readonly routes: ReadonlyMap<string, Routed>;

  constructor(private readonly deps: SdkApiDeps) {
    const { orm, cache, usage } = deps;
    // One budget for remembered answers, shared by identities and OFREP.
    const answers = new AnswerCache(deps.answerCacheBytes);
    const identities = new SdkIdentities(orm, answers);
    const routes = new Map<string, SdkRoute>([
      ['/api/v1/flags/', { methods: { GET: flags(cache) }, usage: ApiUsageKind.FLAGS }],
      [
        '/api/v1/identities/',
        {
          methods: {
            GET: getIdentity(cache, identities, deps.onDegraded),
            POST: identify(cache, identities, deps.onDegraded),
          },
          usage: ApiUsageKind.IDENTITIES,
        },
      ],
      ...['/api/v1/environment-document/', '/api/v1/environment-document'].map(
        (path): [string, SdkRoute] => [
          path,
          {
            methods: { GET: environmentDocument(cache) },
            serverOnly: true,
            usage: ApiUsageKind.ENVIRONMENT_DOCUMENT,
          },
        ],
      ),
      ...traitsRoutes(orm, cache),
      ...analyticsRoutes(usage),
      ...ofrepRoutes(cache, usage, answers),
    ]);
    this.routes = new Map(
      [...routes].map(([path, route]) => [
        path,
        {
          ...route,
          allow: [...Object.keys(route.methods), 'OPTIONS'].join(', '),
          // OFREP's single-flag route answers the whole prefix: its label names the key.
          label: path === OFREP_FLAG_PREFIX ? `${OFREP_FLAG_PREFIX}{key}` : path,
        },
      ]),
    );
  }

  /**
   * Answers the request when it is the SDK API's, under the request id the server gave it,
   * and returns its route's label (a path, with any key in it as `{key}`); undefined hands
   * the request on. `path` is the request URL's path (`pathOf`).
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
  ): string | undefined {
    const url = req.url ?? '/';
    // OFREP's single-flag path carries the flag key: one route for the whole prefix.
    const route =
      this.routes.get(path) ??
      (path.startsWith(OFREP_FLAG_PREFIX) ? this.routes.get(OFREP_FLAG_PREFIX) : undefined);
    const stream = route ? null : STREAM.exec(path);
    if (!route && !stream) return undefined;
    const label = route ? route.label : STREAM_LABEL;

    const call: SdkCall = {
      req,
      res,
      method: req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'),
      path,
      query:
        url.length === path.length ? NO_QUERY : new URLSearchParams(url.slice(path.length + 1)),
      requestId,
      headers: ['X-Request-Id', requestId, ...CORS_HEADERS],
    };
    if (preflight(call)) return label;

    let work: void | Promise<void>;
    try {
      work = route ? this.dispatch(call, route) : this.stream(call, stream![1]!);
    } catch (err) {
      this.fail(call, err, route);
      return label;
    }
    if (work) work.catch((err: unknown) => this.fail(call, err, route));
    return label;
  }

  /** Answers at once when the key and the answer are in memory; a promise otherwise. */
  private dispatch(call: SdkCall, route: Routed): void | Promise<void> {
    if (call.method === 'OPTIONS') {
      send(call, 200, undefined, { Allow: route.allow });
      return;
    }
    // DRF authenticates before it looks at the method.
    const key = route.key ? route.key(call) : (header(call, 'x-environment-key') ?? '');
    const checking = this.deps.cache.authenticate(key, route.serverOnly);
    if (checking instanceof Promise)
      return checking.then((check) => this.serve(call, route, check));
    return this.serve(call, route, checking);
  }

  private serve(call: SdkCall, route: Routed, check: KeyCheck): void | Promise<void> {
    const handler = route.methods[call.method as keyof SdkRoute['methods']];
    const { allow, refuse } = route;
    if (!check.ok) {
      if (refuse) refuse(call, 403, check.detail);
      else send(call, 403, { detail: check.detail });
      return;
    }
    if (!handler) {
      const detail = `Method "${call.method}" not allowed.`;
      if (refuse) refuse(call, 405, detail);
      else send(call, 405, { detail }, { Allow: allow });
      return;
    }
    if (route.usage) this.deps.usage.countRequest(check.environment.environmentId, route.usage);
    return handler(call, check.environment);
  }

  private async stream(call: SdkCall, encodedKey: string): Promise<void> {
    let key: string;
    try {
      key = decodeURIComponent(encodedKey);
    } catch {
      send(call, 404, { detail: 'Not found.' });
      return;
    }
    await this.deps.realtime.connect(call, key);
  }

  private fail(call: SdkCall, err: unknown, route: SdkRoute | undefined): void {
    if (err instanceof RequestAborted || call.res.destroyed) return;
    if (isDatabaseUnavailable(err) && !call.res.headersSent) {
      // Refused, never lost silently: the client sees it failed and may retry.
      this.deps.onDegraded?.('refused');
      this.deps.logger.warn(
        { err, requestId: call.requestId, path: call.path },
        'SDK request refused: database unavailable',
      );
      if (route?.refuse) route.refuse(call, 503, DATABASE_UNAVAILABLE);
      else send(call, 503, { detail: DATABASE_UNAVAILABLE }, { 'Retry-After': '5' });
      return;
    }
    this.deps.logger.error(
      { err, requestId: call.requestId, path: call.path },
      'SDK request failed',
    );
    if (call.res.headersSent) call.res.destroy();
    else if (route?.refuse) route.refuse(call, 500, `Internal server error (${call.requestId})`);
    else send(call, 500, { detail: 'Internal server error', requestId: call.requestId });
  }
}

function flags(cache: SdkCache): SdkHandler {
  return (call, { environmentId, origin }) => {
    const entry = cache.peek(environmentId);
    if (entry) return answerFlags(call, entry, origin);
    return cache.environment(environmentId).then((e) => answerFlags(call, e, origin));
  };
}

function answerFlags(call: SdkCall, entry: CachedEnvironment, origin: KeyOrigin): void {
  const feature = queryParam(call, 'feature');
  if (feature !== undefined) {
    const name = feature.toLowerCase();
    const flag = entry.environmentFlags[origin].find((f) => f.feature.name.toLowerCase() === name);
    send(call, flag ? 200 : 404, flag ?? FEATURE_NOT_FOUND);
    return;
  }
  send(call, 200, entry.environmentFlagsJson[origin], { [UPDATED_AT]: entry.updatedAtHeader });
}

type OnDegraded = SdkApiDeps['onDegraded'];

/** The answer's headers: the document's stamp, and whether the database was bypassed. */
function identityHeaders(
  entry: { readonly updatedAtHeader: string },
  degraded: boolean,
  onDegraded: OnDegraded,
): Record<string, string> {
  if (!degraded) return { [UPDATED_AT]: entry.updatedAtHeader };
  onDegraded?.('identity');
  return { [UPDATED_AT]: entry.updatedAtHeader, [DEGRADED]: 'database-unavailable' };
}

function getIdentity(
  cache: SdkCache,
  identities: SdkIdentities,
  onDegraded: OnDegraded,
): SdkHandler {
  return async (call, { environmentId, origin }) => {
    const identifier = queryParam(call, 'identifier');
    if (!identifier) {
      // Flagsmith answers 200 here (a TODO in Core asks whether 400 would break clients).
      send(call, 200, { detail: 'Missing identifier' });
      return;
    }
    // Refused as POST identities/ refuses it (the identifier column can hold neither).
    const problem = textProblem(identifier, IDENTIFIER_LIMIT);
    if (problem) {
      send(call, 400, { identifier: [problem] });
      return;
    }
    const entry = await cache.environment(environmentId);
    const transient = Boolean(queryParam(call, 'transient'));
    const answer = await identities.get(entry, origin, identifier, transient);
    const headers = identityHeaders(entry, answer.degraded, onDegraded);
    const feature = queryParam(call, 'feature');
    if (feature !== undefined) {
      const flag = answer.flag(feature);
      send(call, flag ? 200 : 404, flag ?? FEATURE_NOT_FOUND, headers);
      return;
    }
    send(call, 200, answer.json(), headers);
  };
}

function identify(cache: SdkCache, identities: SdkIdentities, onDegraded: OnDegraded): SdkHandler {
  return async (call, { environmentId, origin }) => {
    const body = await readJson(call);
    if (!body.ok) return;
    const parsed = parseIdentifyRequest(body.value);
    if (!parsed.ok) {
      send(call, 400, parsed.errors);
      return;
    }
    const entry = await cache.environment(environmentId);
    const answer = await identities.identify(entry, origin, parsed.value);
    send(call, 200, answer.json(), identityHeaders(entry, answer.degraded, onDegraded));
  };
}

function environmentDocument(cache: SdkCache): SdkHandler {
  return async (call, { environmentId }) => {
    const entry = await cache.environment(environmentId);
    const modified = entry.updatedAt;
    const headers = {
      [UPDATED_AT]: entry.updatedAtHeader,
      'Last-Modified': modified.toUTCString(),
    };
    const since = Date.parse(call.req.headers['if-modified-since'] ?? '');
    // HTTP dates have whole seconds.
    if (!Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since) {
      send(call, 304, undefined, headers);
      return;
    }
    send(call, 200, entry.documentJson, headers);
  };
}
