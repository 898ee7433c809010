import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A request id a client (or proxy) may choose: a short token, nothing else. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request's `x-request-id` when it is a sane token, else a new UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method as a metric label: the usual ones, anything else as `other`. */
export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other';
}

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** Paths Express answers without a route of its own (mounted middleware). */
const PREFIXES = ['/graphql', '/admin/', '/auth/', '/health/', '/metrics'] as const;

/**
 * The route of a request Express answered, as a label: the matched route's pattern (never
 * the raw path with its ids), else a fixed prefix, else `unmatched` — so label values stay
 * few whatever clients ask for.
 */
export function expressRouteLabel(
  route: { readonly path?: unknown } | undefined,
  path: string,
  status: number,
): string {
  if (route && typeof route.path === 'string') return route.path;
  if (status === 404) return 'unmatched';
  for (const prefix of PREFIXES) if (path.startsWith(prefix)) return prefix;
  return 'other';
}
