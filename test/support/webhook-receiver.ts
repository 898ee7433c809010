import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

export type Answer = number | { readonly status: number; readonly location?: string };

/** A local HTTP server standing in for a webhook receiver. */
export interface Receiver {
  readonly port: number;
  url(path: string): string;
  /** Everything received since the last call. */
  take(): Received[];
  /** Everything received since start. */
  readonly all: readonly Received[];
  /** How to answer from now on (default: 200). */
  respondWith(answer: (r: Received) => Answer): void;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const all: Received[] = [];
  let taken = 0;
  let answer: (r: Received) => Answer = () => 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      all.push(r);
      const a = answer(r);
      const status = typeof a === 'number' ? a : a.status;
      const headers = typeof a === 'object' && a.location ? { location: a.location } : {};
      res.writeHead(status, headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: (path) => `http://127.0.0.1:${bound}${path}`,
    take() {
      const fresh = all.slice(taken);
      taken = all.length;
      return fresh;
    },
    all,
    respondWith(fn) {
      answer = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
