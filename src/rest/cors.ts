import { header, type SdkCall, send } from './http';

/** Request headers the Flagsmith SDKs send (sdk-rest-api.md §12). */
const ALLOWED_HEADERS = [
  'X-Environment-Key',
  'Content-Type',
  'Flagsmith-SDK-User-Agent',
  'Flagsmith-Application-Name',
  'Flagsmith-Application-Version',
];
const KNOWN = new Set(ALLOWED_HEADERS.map((h) => h.toLowerCase()));

/**
 * CORS for the SDK endpoints and the realtime stream, which browser SDKs call from any
 * origin: every response may be read cross-origin. Exposing
 * `X-Flagsmith-Document-Updated-At` lets the JS SDK skip refetches for SSE events it has
 * already seen (§11); `ETag` lets OFREP web providers revalidate their bulk evaluation.
 */
export const CORS_HEADERS: readonly string[] = [
  'Access-Control-Allow-Origin',
  '*',
  'Access-Control-Expose-Headers',
  'X-Flagsmith-Document-Updated-At, ETag',
];

/** Answers a CORS preflight (204) and returns true; false for any other request. */
export function preflight(call: SdkCall): boolean {
  if (call.method !== 'OPTIONS' || !header(call, 'access-control-request-method')) return false;
  const requested = (header(call, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const extra = requested.filter((h) => !KNOWN.has(h.toLowerCase()));
  send(call, 204, undefined, {
    'Access-Control-Allow-Methods': 'GET, POST, PUT, OPTIONS',
    'Access-Control-Allow-Headers': [...ALLOWED_HEADERS, ...extra].join(', '),
    'Access-Control-Max-Age': '86400',
    Vary: 'Access-Control-Request-Headers',
  });
  return true;
}
