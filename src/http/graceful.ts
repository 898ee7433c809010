import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** How long a connection must have been idle before a draining server closes it. */
const IDLE_GRACE_MS = 1000;
/** How often a draining server looks for connections to close. */
const SWEEP_MS = 50;

interface Connection {
  /** Requests received on it and not yet answered (or abandoned). */
  active: number;
  /** When it last became idle (accepted, or its last answer ended). */
  idleSince: number;
  ended: boolean;
}

export interface DrainResult {
  /** Connections still open at the deadline, destroyed then. */
  readonly cut: number;
  readonly durationMs: number;
}

/**
 * Graceful stop of an HTTP/1.1 server: stop accepting, let requests in progress finish, and
 * close kept-alive connections without racing their clients.
 *
 * Node's `server.close()` destroys idle keep-alive connections at once, and a client that
 * is just then sending its next request on one sees a reset for a request the server never
 * refused. Here, once draining: every answer not started yet carries `Connection: close`
 * (so the client does not reuse the connection, and Node closes it after the answer); a
 * connection without a request in progress is closed once it has been idle for
 * `IDLE_GRACE_MS` (a client that keeps using it gets its next request answered, with
 * `Connection: close`); at the deadline whatever is left is destroyed.
 */
export class HttpDrain {
  private readonly connections = new Map<Socket, Connection>();
  private readonly responses = new Set<ServerResponse>();
  private draining = false;

  constructor(
    private readonly server: Server,
    private readonly idleGraceMs = IDLE_GRACE_MS,
  ) {
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, { active: 0, idleSince: Date.now(), ended: false });
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Whether a drain has begun (readiness answers 503 from then on). */
  get stopping(): boolean {
    return this.draining;
  }

  /** Requests in progress (for tests and metrics). */
  get inFlight(): number {
    return this.responses.size;
  }

  /**
   * Call at the start of every request, and what it returns once the response has closed
   * (the server's own 'close' listener calls it: one listener per response, not two).
   */
  track(req: IncomingMessage, res: ServerResponse): () => void {
    const connection = this.connections.get(req.socket);
    if (connection) connection.active += 1;
    this.responses.add(res);
    if (this.draining) res.setHeader('Connection', 'close');
    return () => {
      this.responses.delete(res);
      if (!connection) return;
      connection.active -= 1;
      connection.idleSince = Date.now();
    };
  }

  /**
   * Stops accepting connections and waits until every connection has closed, or until
   * `deadline` (ms since the epoch), when the remaining ones are destroyed.
   */
  async drain(deadline: number): Promise<DrainResult> {
    const started = Date.now();
    // Take in the connections the kernel has already completed (closing the listening socket
    // would reset them, failing requests their clients have already sent)...
    await new Promise((resolve) => setImmediate(resolve));
    // ...then close it: the listening socket only, as http.Server#close would also destroy
    // idle connections at once.
    NetServer.prototype.close.call(this.server);
    this.draining = true;
    for (const res of this.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    while (this.connections.size > 0 && Date.now() < deadline) {
      this.sweep();
      if (this.connections.size === 0) break;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(1, Math.min(SWEEP_MS, deadline - Date.now()))),
      );
    }
    const cut = this.connections.size;
    for (const socket of this.connections.keys()) socket.destroy();
    this.connections.clear();
    // Let http.Server clear its own timers too (it is no longer listening: ignore that error).
    this.server.close(() => undefined);
    return { cut, durationMs: Date.now() - started };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [socket, c] of this.connections) {
      if (c.ended || c.active > 0 || now - c.idleSince < this.idleGraceMs) continue;
      c.ended = true;
      socket.end();
      // A client that never closes its side is cut at the deadline.
    }
  }
}
