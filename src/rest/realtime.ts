import type { ServerResponse } from 'node:http';
import type { Logger } from '../shared/logger';
import { type SdkCall, send } from './http';
import type { SdkCache } from './sdk-cache';

/**
 * Flagsmith's realtime stream (sdk-rest-api.md §11): `GET sse/environments/<client key>/stream`
 * sends `event: environment_updated` with `{"updated_at": <unix seconds>}` whenever the
 * environment's `updated_at` changes. It follows the SDK cache: a change committed here is
 * announced at once, one made by another node when its NOTIFY arrives (or the cache's poll
 * sees it). While the database is unreachable, streams stay open and a new one starts from
 * the last known stamp.
 */

export interface RealtimeOptions {
  /** How often a comment keeps idle streams open (default 15 s). */
  readonly keepAliveMs?: number;
}

interface Watched {
  readonly subscribers: Set<ServerResponse>;
  /** Last stamp sent, in milliseconds. */
  updatedAt: number;
  /** A stamp read is under way; `again` asks for one more after it. */
  reading: boolean;
  again: boolean;
}

const RETRY_MS = 15_000;
const MAX_KEY_LENGTH = 100;
/** After a failed stamp read (database unreachable), how soon to read again. */
const RETRY_READ_MS = 1_000;

const event = (updatedAtMs: number): string =>
  `event: environment_updated\ndata: ${JSON.stringify({ updated_at: updatedAtMs / 1000 })}\n\n`;

export class Realtime {
  private readonly watched = new Map<number, Watched>();
  private readonly keepAliveMs: number;
  private readonly unsubscribe: () => void;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly reads = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly cache: SdkCache,
    private readonly logger: Logger,
    options: RealtimeOptions = {},
  ) {
    this.keepAliveMs = options.keepAliveMs ?? 15_000;
    this.unsubscribe = cache.onChange((ids) => {
      for (const id of ids) if (this.watched.has(id)) this.refresh(id);
    });
  }

  /** Number of open streams (for tests and metrics). */
  get listeners(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.subscribers.size;
    return n;
  }

  /** Ends every stream; later connections are refused. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.keepAlive);
    for (const w of this.watched.values()) for (const res of w.subscribers) res.end();
    this.watched.clear();
    await Promise.all(this.reads);
  }

  /** Opens a stream for the environment with this client key (404 for any other key). */
  async connect(call: SdkCall, key: string): Promise<void> {
    if (call.method !== 'GET') {
      send(call, 405, { detail: `Method "${call.method}" not allowed.` }, { Allow: 'GET' });
      return;
    }
    const check =
      key.length > MAX_KEY_LENGTH || key.startsWith('ser.')
        ? undefined
        : await this.cache.authenticate(key);
    const environmentId = check?.ok ? check.environment.environmentId : undefined;
    const stamp = environmentId === undefined ? undefined : await this.cache.stamp(environmentId);
    if (environmentId === undefined || stamp === undefined) {
      send(call, 404, { detail: 'Not found.' });
      return;
    }
    const { res } = call;
    if (this.closed || res.destroyed) {
      send(call, 503, { detail: 'Service unavailable.' });
      return;
    }
    const updatedAt = stamp.getTime();
    res.writeHead(200, [
      ...call.headers,
      'Content-Type',
      'text/event-stream; charset=utf-8',
      'Cache-Control',
      'no-cache, no-transform',
      'Connection',
      'keep-alive',
      'X-Accel-Buffering',
      'no',
    ]);
    res.socket?.setNoDelay(true);
    // The current stamp at once, as Flagsmith's SSE service did; later ones on change.
    res.write(`retry: ${RETRY_MS}\n${event(updatedAt)}`);

    let watched = this.watched.get(environmentId);
    if (!watched) {
      watched = { subscribers: new Set(), updatedAt, reading: false, again: false };
      this.watched.set(environmentId, watched);
    }
    watched.subscribers.add(res);
    res.on('close', () => this.leave(environmentId, res));
    this.keepAlive ??= setInterval(() => {
      for (const w of this.watched.values()) for (const s of w.subscribers) s.write(': \n\n');
    }, this.keepAliveMs).unref();
  }

  private leave(environmentId: number, res: ServerResponse): void {
    const watched = this.watched.get(environmentId);
    if (!watched) return;
    watched.subscribers.delete(res);
    if (watched.subscribers.size === 0) this.watched.delete(environmentId);
    if (this.watched.size === 0) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** Reads the environment's stamp again and tells its streams when it moved. */
  private refresh(environmentId: number): void {
    const watched = this.watched.get(environmentId);
    if (!watched || this.closed) return;
    if (watched.reading) {
      watched.again = true;
      return;
    }
    watched.reading = true;
    const read = this.cache
      .stamp(environmentId)
      .then((stamp) => {
        if (stamp === undefined) {
          // The environment is gone: so are its streams.
          for (const res of watched.subscribers) res.end();
          return;
        }
        const ms = stamp.getTime();
        if (ms === watched.updatedAt) return;
        watched.updatedAt = ms;
        const message = event(ms);
        for (const res of watched.subscribers) res.write(message);
      })
      .catch((err: unknown) => {
        if (this.closed) return;
        this.logger.warn({ err, environmentId }, 'realtime stamp read failed; retrying');
        setTimeout(() => this.refresh(environmentId), RETRY_READ_MS).unref();
      })
      .finally(() => {
        this.reads.delete(read);
        watched.reading = false;
        if (watched.again) {
          watched.again = false;
          this.refresh(environmentId);
        }
      });
    this.reads.add(read);
  }
}
