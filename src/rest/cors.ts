import type { RequestHandler } from 'express';

/** Request headers the Flagsmith SDKs send (sdk-rest-api.md §12). */
const ALLOWED_HEADERS = [
  'X-Environment-Key',
  'Content-Type',
  'Flagsmith-SDK-User-Agent',
  'Flagsmith-Application-Name',
  'Flagsmith-Application-Version',
];

/**
 * CORS for the SDK endpoints and the realtime stream, which browser SDKs call from any
 * origin: every response may be read cross-origin, preflights are answered here. Exposing
 * `X-Flagsmith-Document-Updated-At` lets the JS SDK skip refetches for SSE events it has
 * already seen (§11).
 */
export const sdkCors: RequestHandler = (req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'X-Flagsmith-Document-Updated-At');
  if (req.method !== 'OPTIONS' || !req.get('access-control-request-method')) {
    next();
    return;
  }
  const requested = (req.get('access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const known = new Set(ALLOWED_HEADERS.map((h) => h.toLowerCase()));
  const extra = requested.filter((h) => !known.has(h.toLowerCase()));
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', [...ALLOWED_HEADERS, ...extra].join(', '));
  res.setHeader('Access-Control-Max-Age', '86400');
  res.setHeader('Vary', 'Access-Control-Request-Headers');
  res.status(204).end();
};
