import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Request headers a browser page may send to the management API. */
const ALLOWED_HEADERS = [
  'Content-Type',
  'Authorization',
  'Apollo-Require-Preflight',
  'X-Apollo-Operation-Name',
  'X-Request-Id',
].join(', ');

/**
 * CORS for the management API (/graphql): pages of this server's own origin, and of the
 * origins listed in `CORS_ALLOWED_ORIGINS`, may call it from a browser (with credentials);
 * every other origin is refused — its preflight gets 403 without CORS headers, and a request
 * that names it in `Origin` is refused with 403 before anything runs. Requests without
 * `Origin` (servers, scripts, same-origin GETs) pass. The SDK endpoints have their own,
 * open CORS (src/rest/cors.ts).
 *
 * This server's own origin: `Sec-Fetch-Site: same-origin` (set by browsers, never by pages),
 * or an `Origin` equal to `PUBLIC_URL`'s or to the request's own scheme and host.
 */
export function managementCors(
  allowedOrigins: readonly string[],
  publicUrl: string,
): RequestHandler {
  const allowed = new Set(allowedOrigins);
  const publicOrigin = new URL(publicUrl).origin;

  const ownOrigin = (req: Request, origin: string): boolean =>
    req.get('sec-fetch-site') === 'same-origin' ||
    origin === publicOrigin ||
    origin === `${req.protocol}://${req.get('host') ?? ''}`;

  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method');
    if (allowed.has(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Expose-Headers': 'Retry-After, X-Request-Id',
      });
      if (!preflight) return next();
      res
        .status(204)
        .set({
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': ALLOWED_HEADERS,
          'Access-Control-Max-Age': '600',
        })
        .end();
      return;
    }
    if (ownOrigin(req, origin)) return next();
    const message = `Pages of ${origin} may not call this API (see CORS_ALLOWED_ORIGINS)`;
    res.status(403).json({
      errors: [{ message, extensions: { code: 'FORBIDDEN', reason: 'ORIGIN_NOT_ALLOWED' } }],
    });
  };
}
