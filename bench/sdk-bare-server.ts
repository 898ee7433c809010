/**
 * The SDK benchmark's baseline: a bare `node:http` server answering the bytes Flagward gave
 * for the same requests, read from the JSON file named by BENCH_SDK_RESPONSES
 * (`SdkResponses` in sdk.bench.ts). It checks the environment key; for
 * `POST /api/v1/identities/` it reads and parses the body and answers the identifier's
 * precomputed bytes, and for `POST /ofrep/v1/evaluate/flags` (key in `X-API-Key`) those of
 * the context's `targetingKey`. Prints `LISTENING <url>` once ready; exits on SIGTERM/SIGINT. The bench
 * runs it compiled to plain JavaScript, as Flagward runs from its build.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Written by sdk.bench.ts, read here. */
export interface SdkResponses {
  readonly environmentKey: string;
  readonly flags: { readonly contentType: string; readonly body: string };
  readonly identities: {
    readonly contentType: string;
    readonly bodies: Readonly<Record<string, string>>;
  };
  /** OFREP bulk evaluation bodies by targeting key. */
  readonly ofrep: {
    readonly contentType: string;
    readonly bodies: Readonly<Record<string, string>>;
  };
}

function main(): void {
  const file = process.env.BENCH_SDK_RESPONSES;
  if (!file) throw new Error('BENCH_SDK_RESPONSES must name the responses file');
  const responses = JSON.parse(readFileSync(file, 'utf8')) as SdkResponses;
  const key = responses.environmentKey;
  const flags = Buffer.from(responses.flags.body);
  const identityType = responses.identities.contentType;
  const identities = new Map(
    Object.entries(responses.identities.bodies).map(([id, body]) => [id, Buffer.from(body)]),
  );
  const ofrepType = responses.ofrep.contentType;
  const ofrep = new Map(
    Object.entries(responses.ofrep.bodies).map(([id, body]) => [id, Buffer.from(body)]),
  );

  const send = (res: ServerResponse, status: number, type: string, body: Buffer): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
  const notFound = Buffer.from('{"detail":"Not found."}');

  /** Reads the JSON body and answers the bytes stored for the identifier `pick` finds in it. */
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    pick: (body: unknown) => unknown,
    bodies: ReadonlyMap<string, Buffer>,
    type: string,
  ): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let identifier: unknown;
      try {
        identifier = pick(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        identifier = undefined;
      }
      const body = typeof identifier === 'string' ? bodies.get(identifier) : undefined;
      if (body) send(res, 200, type, body);
      else send(res, 404, 'application/json', notFound);
    });
  };
  const identify = (req: IncomingMessage, res: ServerResponse): void =>
    answer(req, res, (b) => (b as { identifier?: unknown }).identifier, identities, identityType);
  const evaluateBulk = (req: IncomingMessage, res: ServerResponse): void =>
    answer(
      req,
      res,
      (b) => (b as { context?: { targetingKey?: unknown } }).context?.targetingKey,
      ofrep,
      ofrepType,
    );

  const server = createServer((req, res) => {
    if ((req.headers['x-environment-key'] ?? req.headers['x-api-key']) !== key) {
      send(
        res,
        403,
        'application/json',
        Buffer.from('{"detail":"Invalid or missing Environment Key"}'),
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/api/v1/flags/') {
      send(res, 200, responses.flags.contentType, flags);
      return;
    }
    if (req.method === 'POST' && req.url === '/api/v1/identities/') {
      identify(req, res);
      return;
    }
    if (req.method === 'POST' && req.url === '/ofrep/v1/evaluate/flags') {
      evaluateBulk(req, res);
      return;
    }
    send(res, 404, 'application/json', notFound);
  });

  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
