import type { IncomingMessage, ServerResponse } from 'node:http';

/** The largest request body any route reads (/graphql and the SDK API; forms take 16 KiB). */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

const TOO_LARGE = 'Request body is too large.';

/** The 413 answer's body in the shape of the API at `path`. */
export function tooLargeBody(path: string): unknown {
  if (path.startsWith('/graphql')) {
    return { errors: [{ message: TOO_LARGE, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] };
  }
  if (path.startsWith('/ofrep/')) return { errorCode: 'PARSE_ERROR', errorDetails: TOO_LARGE };
  return { detail: TOO_LARGE };
}

/**
 * Refuses, before any route runs, a request that declares a body larger than any route
 * reads: 413 in the shape of the API it was sent to (GraphQL's `errors`, OFREP's
 * `errorCode`, otherwise Flagsmith's `{"detail": …}`), also on routes that read no body.
 * The body is drained unread. Smaller bodies, and bodies sent without a length, meet each
 * route's own limit as they are read. Returns true when it answered.
 */
export function refuseOversizedBody(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  requestId: string,
): boolean {
  const declared = req.headers['content-length'];
  if (declared === undefined || !(Number(declared) > MAX_REQUEST_BODY_BYTES)) return false;
  const bytes = Buffer.from(JSON.stringify(tooLargeBody(path)));
  req.resume();
  res.writeHead(413, {
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    'X-Request-Id': requestId,
  });
  res.end(bytes);
  return true;
}
