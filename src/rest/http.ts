import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The SDK data plane's HTTP vocabulary on plain `node:http`: a parsed request, JSON
 * answers and a bounded JSON body reader with the status codes and error bodies of
 * Django REST framework (sdk-rest-api.md §2). No framework runs on these requests.
 */

/** One request to an SDK endpoint. */
export interface SdkCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The method, with HEAD answered as GET. */
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly requestId: string;
  /** Headers every response to this request carries, as a flat name, value, … list. */
  readonly headers: readonly string[];
}

/** Largest request body the SDK endpoints read. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request header's value (the last one when repeated), or undefined. */
export function header(call: SdkCall, name: string): string | undefined {
  const value = call.req.headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Django's `QueryDict.get`: the last value of a query parameter, or undefined. */
export function queryParam(call: SdkCall, name: string): string | undefined {
  const values = call.query.getAll(name);
  return values.length ? values[values.length - 1] : undefined;
}

/** Sends a response; a string or Buffer body is sent as it is, anything else as JSON. */
export function send(
  call: SdkCall,
  status: number,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const { res } = call;
  if (res.headersSent) return;
  // One flat list, no setHeader(): the cheapest way through node:http's header handling.
  const list = [...call.headers];
  for (const name in headers) list.push(name, headers[name]!);
  if (body === undefined) {
    res.writeHead(status, list);
    res.end();
    return;
  }
  const bytes = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  if (headers['Content-Type'] === undefined) list.push('Content-Type', 'application/json');
  list.push('Content-Length', String(bytes.length));
  res.writeHead(status, list);
  res.end(bytes);
}

export type JsonBody = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** How a bad body is answered: DRF's `{detail}` by default; OFREP has its own shape. */
export type BodyRefusal = (call: SdkCall, status: 400 | 413 | 415, detail: string) => void;

const drfRefusal: BodyRefusal = (call, status, detail) => send(call, status, { detail });

/**
 * Reads a JSON body of at most `MAX_BODY_BYTES`, as DRF's JSON parser would: no body (or a
 * blank one) reads as `{}`. On bad input it answers through `refuse` — 400 for malformed
 * JSON, 413 for too large, 415 for a body that is not JSON or an unsupported charset or
 * encoding — and returns `{ ok: false }`.
 */
export async function readJson(call: SdkCall, refuse: BodyRefusal = drfRefusal): Promise<JsonBody> {
  const { req } = call;
  const type = header(call, 'content-type') ?? '';
  const length = header(call, 'content-length');
  const hasBody = header(call, 'transfer-encoding') !== undefined || (length ?? '0') !== '0';
  if (!hasBody) return { ok: true, value: {} };
  if (!JSON_TYPE.test(type)) {
    req.resume();
    refuse(call, 415, `Unsupported media type "${type}" in request.`);
    return { ok: false };
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    req.resume();
    refuse(call, 415, `Unsupported charset "${charset.toUpperCase()}".`);
    return { ok: false };
  }
  const encoding = (header(call, 'content-encoding') ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    req.resume();
    refuse(call, 415, `Unsupported content encoding "${encoding}".`);
    return { ok: false };
  }
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) {
    req.resume();
    refuse(call, 413, 'Request body is too large.');
    return { ok: false };
  }
  const text = await readText(req);
  if (text === undefined) {
    refuse(call, 413, 'Request body is too large.');
    return { ok: false };
  }
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    refuse(call, 400, `JSON parse error - ${(err as Error).message}`);
    return { ok: false };
  }
}

/** The client went away before its request body was complete. */
export class RequestAborted extends Error {
  constructor() {
    super('request aborted');
  }
}

/** The body as UTF-8, or undefined once it exceeds the limit (the rest is discarded). */
function readText(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks, size).toString('utf8'));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new RequestAborted());
    });
  });
}
