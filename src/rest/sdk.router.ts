import type { MikroORM } from '@mikro-orm/core';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Logger } from '../shared/logger';
import { ApiUsageKind } from '../usage/api-usage.entity';
import type { UsageRecorder } from '../usage/usage-recorder';
import { countUsage } from './analytics.router';
import { DocumentCache } from './document-cache';
import { environmentKey, sdkEnvironmentOf } from './environment-key';
import { parseIdentifyRequest } from './identify-request';
import { SdkIdentities } from './sdk-identities';
import { traitsRouter } from './traits.router';

/** Largest JSON body the SDK endpoints accept. */
const MAX_BODY = '1mb';
const UPDATED_AT = 'X-Flagsmith-Document-Updated-At';
const FEATURE_NOT_FOUND = { detail: 'Given feature not found' } as const;

/** The last value of a query parameter (Django's `QueryDict.get`), or undefined. */
function queryParam(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const last: unknown = value[value.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return undefined;
}

function sendJson(res: Response, body: string): void {
  res.type('application/json').send(body);
}

/** DRF's answer to a method the view does not have (after authentication, as DRF does). */
function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (req, res) => {
    res.setHeader('Allow', [...allowed, 'OPTIONS'].join(', '));
    if (req.method === 'OPTIONS') {
      res.status(200).end();
      return;
    }
    res.status(405).json({ detail: `Method "${req.method}" not allowed.` });
  };
}

/** Lets OPTIONS through without a key; every other method must present one. */
function unlessOptions(handler: RequestHandler): RequestHandler {
  return (req, res, next) => (req.method === 'OPTIONS' ? next() : handler(req, res, next));
}

/**
 * The Flagsmith SDK endpoints under `/api/v1` (shared/spec/sdk-rest-api.md): flags,
 * identities and the environment document, served from a per-process document cache.
 * No session, passport or GraphQL middleware runs here.
 */
export function sdkRouter(orm: MikroORM, logger: Logger, usage: UsageRecorder): Router {
  const cache = new DocumentCache(orm);
  const identities = new SdkIdentities(orm);
  const anyKey = environmentKey(orm);
  const serverKey = environmentKey(orm, { serverOnly: true });
  const json = express.json({ limit: MAX_BODY });
  const router = express.Router({ strict: true, caseSensitive: true });

  router
    .route('/flags/')
    .get(anyKey, countUsage(usage, ApiUsageKind.FLAGS), async (req, res) => {
      const sdk = sdkEnvironmentOf(req);
      const entry = await cache.get(sdk);
      const feature = queryParam(req, 'feature');
      if (feature !== undefined) {
        const name = feature.toLowerCase();
        const flag = entry.environmentFlags[sdk.origin].find(
          (f) => f.feature.name.toLowerCase() === name,
        );
        if (flag) res.json(flag);
        else res.status(404).json(FEATURE_NOT_FOUND);
        return;
      }
      res.setHeader(UPDATED_AT, entry.updatedAtHeader);
      sendJson(res, entry.environmentFlagsJson[sdk.origin]);
    })
    .all(unlessOptions(anyKey), methodNotAllowed(['GET']));

  router
    .route('/identities/')
    .get(anyKey, countUsage(usage, ApiUsageKind.IDENTITIES), async (req, res) => {
      const identifier = queryParam(req, 'identifier');
      if (!identifier) {
        // Flagsmith answers 200 here (a TODO in Core asks whether 400 would break clients).
        res.json({ detail: 'Missing identifier' });
        return;
      }
      const sdk = sdkEnvironmentOf(req);
      const entry = await cache.get(sdk);
      const transient = Boolean(queryParam(req, 'transient'));
      const body = await identities.get(entry, sdk.origin, identifier, transient);
      res.setHeader(UPDATED_AT, entry.updatedAtHeader);
      const feature = queryParam(req, 'feature');
      if (feature !== undefined) {
        const flag = body.flags.find((f) => f.feature.name === feature);
        if (flag) res.json(flag);
        else res.status(404).json(FEATURE_NOT_FOUND);
        return;
      }
      res.json(body);
    })
    .post(anyKey, countUsage(usage, ApiUsageKind.IDENTITIES), json, async (req, res) => {
      const raw: unknown = req.body;
      if (raw === undefined && req.get('content-type') && Number(req.get('content-length')) > 0) {
        res
          .status(415)
          .json({ detail: `Unsupported media type "${req.get('content-type')}" in request.` });
        return;
      }
      const parsed = parseIdentifyRequest(raw ?? {});
      if (!parsed.ok) {
        res.status(400).json(parsed.errors);
        return;
      }
      const sdk = sdkEnvironmentOf(req);
      const entry = await cache.get(sdk);
      const body = await identities.identify(entry, sdk.origin, parsed.value);
      res.setHeader(UPDATED_AT, entry.updatedAtHeader);
      res.json(body);
    })
    .all(unlessOptions(anyKey), methodNotAllowed(['GET', 'POST']));

  router
    .route(['/environment-document/', '/environment-document'])
    .get(serverKey, countUsage(usage, ApiUsageKind.ENVIRONMENT_DOCUMENT), async (req, res) => {
      const entry = await cache.get(sdkEnvironmentOf(req));
      const modified = entry.updatedAt;
      res.setHeader(UPDATED_AT, entry.updatedAtHeader);
      res.setHeader('Last-Modified', modified.toUTCString());
      const since = Date.parse(req.get('if-modified-since') ?? '');
      // HTTP dates have whole seconds.
      if (!Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since) {
        res.status(304).end();
        return;
      }
      sendJson(res, entry.documentJson);
    })
    .all(unlessOptions(serverKey), methodNotAllowed(['GET']));

  router.use(
    traitsRouter(orm, { cache, anyKey, json, count: countUsage(usage, ApiUsageKind.TRAITS) }),
  );

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ detail: 'Not found.' });
  });

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = (typeof err === 'object' && err !== null ? err : {}) as {
      type?: unknown;
      status?: unknown;
      message?: unknown;
    };
    const message = typeof e.message === 'string' ? e.message : 'invalid request';
    switch (e.type) {
      case 'entity.parse.failed':
        res.status(400).json({ detail: `JSON parse error - ${message}` });
        return;
      case 'entity.too.large':
        res.status(413).json({ detail: 'Request body is too large.' });
        return;
      case 'charset.unsupported':
      case 'encoding.unsupported':
        res.status(415).json({ detail: message });
        return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ detail: message });
      return;
    }
    logger.error({ err, requestId: req.requestId, path: req.originalUrl }, 'SDK request failed');
    res.status(500).json({ detail: 'Internal server error', requestId: req.requestId });
  });

  return router;
}
