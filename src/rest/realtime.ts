import type { MikroORM } from '@mikro-orm/core';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../shared/logger';
import { sdkCors } from './cors';

/**
 * Flagsmith's realtime stream (sdk-rest-api.md §11): `GET sse/environments/<client key>/stream`
 * sends `event: environment_updated` with `{"updated_at": <unix seconds>}` whenever the
 * environment's `updated_at` changes. One poller per process reads the stamps of the
 * environments someone listens to, so changes made by any process are seen.
 */

export interface RealtimeOptions {
  /** How often the stamps are read while anyone listens (default 300 ms). */
  readonly pollMs?: number;
  /** How often a comment keeps idle streams open (default 15 s). */
  readonly keepAliveMs?: number;
}

interface Subscriber {
  readonly res: Response;
}

interface Watched {
  readonly subscribers: Set<Subscriber>;
  /** Last stamp seen, in milliseconds. */
  updatedAt: number;
}

const BY_KEY = 'select id, updated_at from environments where api_key = ?';
const STAMPS = 'select id, updated_at from environments where id = any(?::int[])';
const MAX_KEY_LENGTH = 100;
const RETRY_MS = 15_000;

const event = (updatedAtMs: number): string =>
  `event: environment_updated\ndata: ${JSON.stringify({ updated_at: updatedAtMs / 1000 })}\n\n`;

export class Realtime {
  private readonly watched = new Map<number, Watched>();
  private readonly pollMs: number;
  private readonly keepAliveMs: number;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastKeepAlive = 0;
  private closed = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    options: RealtimeOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 300;
    this.keepAliveMs = options.keepAliveMs ?? 15_000;
  }

  /** The stream route, mounted at the server root (the SDKs' `eventSourceUrl`). */
  router(): Router {
    const router = express.Router({ strict: true, caseSensitive: true });
    router.use('/sse/', sdkCors);
    router.get('/sse/environments/:key/stream', (req, res, next) => {
      this.connect(req, res).catch(next);
    });
    return router;
  }

  /** Number of open streams (for tests and metrics). */
  get listeners(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.subscribers.size;
    return n;
  }

  /** Ends every stream and stops polling; later connections are refused. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    for (const w of this.watched.values()) for (const s of w.subscribers) s.res.end();
    this.watched.clear();
    await this.polling;
  }

  private async connect(req: Request, res: Response): Promise<void> {
    const key = String(req.params.key);
    const rows: { id: number; updated_at: Date | string }[] =
      key.length > MAX_KEY_LENGTH
        ? []
        : await this.orm.em.getConnection().execute(BY_KEY, [key], 'all');
    const row = rows[0];
    if (!row) {
      res.status(404).json({ detail: 'Not found.' });
      return;
    }
    if (this.closed || res.destroyed) {
      res.status(503).json({ detail: 'Service unavailable.' });
      return;
    }
    const updatedAt = new Date(row.updated_at).getTime();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // The current stamp at once, as Flagsmith's SSE service did; later ones on change.
    res.write(`retry: ${RETRY_MS}\n${event(updatedAt)}`);

    let watched = this.watched.get(row.id);
    if (!watched) {
      watched = { subscribers: new Set(), updatedAt };
      this.watched.set(row.id, watched);
    }
    const subscriber: Subscriber = { res };
    watched.subscribers.add(subscriber);
    res.on('close', () => this.unsubscribe(row.id, subscriber));
    this.start();
  }

  private unsubscribe(environmentId: number, subscriber: Subscriber): void {
    const watched = this.watched.get(environmentId);
    if (!watched) return;
    watched.subscribers.delete(subscriber);
    if (watched.subscribers.size === 0) this.watched.delete(environmentId);
    if (this.watched.size === 0) this.stop();
  }

  private start(): void {
    if (this.timer || this.polling || this.closed) return;
    this.lastKeepAlive = Date.now();
    this.schedule();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        if (this.watched.size > 0 && !this.closed) this.schedule();
      });
    }, this.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const ids = [...this.watched.keys()];
    if (ids.length === 0) return;
    try {
      const rows: { id: number; updated_at: Date | string }[] = await this.orm.em
        .getConnection()
        .execute(STAMPS, [`{${ids.join(',')}}`], 'all');
      for (const row of rows) {
        const watched = this.watched.get(row.id);
        const stamp = new Date(row.updated_at).getTime();
        if (!watched || stamp === watched.updatedAt) continue;
        watched.updatedAt = stamp;
        const message = event(stamp);
        for (const s of watched.subscribers) s.res.write(message);
      }
    } catch (err) {
      if (!this.closed) this.logger.warn({ err }, 'realtime poll failed');
    }
    const now = Date.now();
    if (now - this.lastKeepAlive >= this.keepAliveMs) {
      this.lastKeepAlive = now;
      for (const w of this.watched.values()) for (const s of w.subscribers) s.res.write(': \n\n');
    }
  }
}
