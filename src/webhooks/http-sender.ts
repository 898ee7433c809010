import { promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './network-policy';

/**
 * Outgoing webhook delivery, guarded against SSRF.
 *
 * Every address a webhook URL points at is checked against an {@link AddressPolicy} before a
 * connection is made. Host names are resolved once, all resolved addresses are vetted, and the
 * connection is pinned to the vetted addresses through a custom `lookup`, so a DNS answer
 * that changes between the check and the connect (DNS rebinding) cannot redirect the request.
 * Redirects are never followed.
 */

export interface WebhookRequest {
  readonly url: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export type WebhookOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly durationMs: number }
  | { readonly kind: 'network-error'; readonly error: string; readonly durationMs: number }
  | { readonly kind: 'blocked'; readonly error: string; readonly durationMs: number };

/** Resolves a host name to all of its addresses. */
export type LookupFn = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface SenderOptions {
  readonly policy: AddressPolicy;
  /** Defaults to the system resolver (`dns.promises.lookup` with `all: true`). */
  readonly lookup?: LookupFn;
}

const MAX_URL_LENGTH = 2000;
/** Response bytes read (and thrown away) before the connection is simply closed. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** How long save-time validation waits for DNS before giving up (and accepting the URL). */
const CHECK_LOOKUP_TIMEOUT_MS = 5000;
const MAX_ERROR_LENGTH = 200;
/** setTimeout's upper limit. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const defaultLookup: LookupFn = (hostname) =>
  dnsPromises.lookup(hostname, { all: true, verbatim: true });

/** Header names the sender sets itself; caller-provided values are dropped. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

interface Target {
  readonly url: URL;
  /** Host name or IP address without IPv6 brackets. */
  readonly host: string;
  readonly isLiteral: boolean;
}

/** Parses and checks the shape of a webhook URL; returns an error message or the target. */
function parseTarget(raw: string): Target | string {
  if (raw.length > MAX_URL_LENGTH) return `URL is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'URL is not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `URL scheme ${url.protocol} is not allowed (only http: and https:)`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'URL must not contain a username or password';
  }
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') return 'URL has no host';
  return { url, host, isLiteral: isIP(host) !== 0 };
}

/** The first reason any of `addresses` is blocked for `host`, or null if all may be used. */
function blockedAddress(
  policy: AddressPolicy,
  host: string,
  addresses: readonly { address: string }[],
): string | null {
  if (addresses.length === 0) return `${host} did not resolve to any address`;
  for (const { address } of addresses) {
    const reason = policy.blockedReason(address);
    if (reason !== null) return `${host} resolves to a blocked address (${reason})`;
  }
  return null;
}

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const short =
    message
      // OpenSSL's "8000...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file:line:"
      // is reduced to its reason ("wrong version number").
      .replace(/[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):\S*/g, '$1')
      .replace(/\s+/g, ' ')
      .trim() || 'unknown error';
  return short.length > MAX_ERROR_LENGTH ? `${short.slice(0, MAX_ERROR_LENGTH - 1)}…` : short;
}

/**
 * A `lookup` for http(s).request that never touches DNS: it answers with the addresses that
 * were already vetted, whatever name it is asked about.
 */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const list =
      wanted === 4 || wanted === 6 ? addresses.filter((a) => a.family === wanted) : [...addresses];
    const first = list[0];
    if (!first) {
      const err: NodeJS.ErrnoException = new Error('no vetted address for the requested family');
      err.code = 'ENOTFOUND';
      process.nextTick(() => callback(err, ''));
      return;
    }
    if (options.all)
      process.nextTick(() =>
        callback(
          null,
          list.map((a) => ({ ...a })),
        ),
      );
    else process.nextTick(() => callback(null, first.address, first.family));
  };
}

/**
 * POSTs `req.body` to `req.url`. Never throws: every failure is reported as an outcome.
 *
 * - `blocked`: the URL is not an http(s) URL, or its host is (or resolves to) an address the
 *   policy forbids. Nothing was sent.
 * - `network-error`: DNS failure, connection/TLS error, or the overall deadline of
 *   `timeoutMs` (covering DNS, connect, sending, response headers and body) passed.
 * - `response`: the receiver answered with `status` (redirects are returned, not followed).
 */
export async function postWebhook(
  req: WebhookRequest,
  options: SenderOptions,
): Promise<WebhookOutcome> {
  const started = performance.now();
  const durationMs = () => Math.max(0, Math.round(performance.now() - started));
  try {
    return await send(req, options, started, durationMs);
  } catch (err) {
    return { kind: 'network-error', error: errorMessage(err), durationMs: durationMs() };
  }
}

function send(
  req: WebhookRequest,
  options: SenderOptions,
  started: number,
  durationMs: () => number,
): Promise<WebhookOutcome> {
  const target = parseTarget(req.url);
  if (typeof target === 'string') {
    return Promise.resolve({ kind: 'blocked', error: target, durationMs: durationMs() });
  }
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) {
    return Promise.resolve({
      kind: 'network-error',
      error: `invalid timeout ${req.timeoutMs}`,
      durationMs: durationMs(),
    });
  }
  const { url, host, isLiteral } = target;

  return new Promise<WebhookOutcome>((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    let response: http.IncomingMessage | undefined;

    const finish = (outcome: WebhookOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Closes the socket whatever state the exchange is in (agent: false, so no pooling).
      response?.destroy();
      request?.destroy();
      resolve(outcome);
    };
    const fail = (kind: 'network-error' | 'blocked', error: string) =>
      finish({ kind, error, durationMs: durationMs() });

    const remaining = Math.max(0, req.timeoutMs - (performance.now() - started));
    const timer = setTimeout(
      () => fail('network-error', `timed out after ${req.timeoutMs} ms`),
      Math.min(remaining, MAX_TIMER_MS),
    );

    const connect = (addresses: LookupAddress[]) => {
      if (settled) return;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name] = value;
      }
      // url.host keeps the original name (and a non-default port) for virtual hosting.
      headers['host'] = url.host;
      headers['content-length'] = String(req.body.length);

      const isHttps = url.protocol === 'https:';
      const requestOptions: https.RequestOptions = {
        method: 'POST',
        host,
        port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers,
        agent: false,
        // Only consulted for host names: connect to the vetted addresses, never re-resolve.
        lookup: pinnedLookup(addresses),
      };
      if (isHttps && !isLiteral) requestOptions.servername = host;

      try {
        request = (isHttps ? https : http).request(requestOptions);
      } catch (err) {
        fail('network-error', errorMessage(err));
        return;
      }
      request.on('error', (err) => fail('network-error', errorMessage(err)));
      request.on('response', (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // Enough: the status is all that matters; drop the rest with the connection.
          if (received > MAX_RESPONSE_BYTES)
            finish({ kind: 'response', status, durationMs: durationMs() });
        });
        res.on('end', () => finish({ kind: 'response', status, durationMs: durationMs() }));
        res.on('error', (err) => fail('network-error', errorMessage(err)));
        res.on('close', () => {
          if (!res.complete) fail('network-error', 'connection closed while reading the response');
        });
      });
      request.end(req.body);
    };

    if (isLiteral) {
      const reason = options.policy.blockedReason(host);
      if (reason !== null) fail('blocked', reason);
      else connect([{ address: host, family: isIP(host) }]);
      return;
    }

    (options.lookup ?? defaultLookup)(host).then(
      (resolved) => {
        if (settled) return;
        const reason = blockedAddress(options.policy, host, resolved);
        if (reason !== null) {
          fail('blocked', reason);
          return;
        }
        connect(resolved.map(({ address }) => ({ address, family: isIP(address) })));
      },
      (err: unknown) => fail('network-error', errorMessage(err)),
    );
  });
}

/**
 * Save-time validation of a webhook URL: an error message, or null if the URL is acceptable.
 *
 * The URL must be an absolute http(s) URL of at most 2000 characters without credentials,
 * and its host (an IP literal, or every address the name resolves to) must pass the policy.
 */
export async function checkWebhookUrl(url: string, options: SenderOptions): Promise<string | null> {
  const target = parseTarget(url);
  if (typeof target === 'string') return target;
  if (target.isLiteral) return options.policy.blockedReason(target.host);

  // A name that does not resolve (or not in time) is accepted: it may only come to exist
  // later. This is not a hole, because postWebhook resolves and checks every address again
  // before each delivery.
  let resolved: { address: string }[];
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), CHECK_LOOKUP_TIMEOUT_MS);
    });
    const result = await Promise.race([(options.lookup ?? defaultLookup)(target.host), timeout]);
    if (result === null) return null;
    resolved = result;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
  if (resolved.length === 0) return null;
  return blockedAddress(options.policy, target.host, resolved);
}
