/**
 * Instruments for the security proof suite (test/security/): what the database holds, what
 * the server logged, whether the test's process saw an unhandled rejection, and raw HTTP
 * requests with whatever headers and bytes a test wants to send.
 */
import { request as httpRequest, Agent, type OutgoingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logger';
import type { TestApp } from './test-app';

// --- The database --------------------------------------------------------------------------

/** MikroORM's own bookkeeping: never written by a request. */
const BOOKKEEPING = ['mikro_orm_migrations'];

async function sql<T>(t: TestApp, query: string, params: unknown[] = []): Promise<T[]> {
  return (await t.app.db.orm.em.fork().getConnection().execute(query, params)) as T[];
}

/** The application's tables (schema `public`), by name. */
export async function tableNames(t: TestApp): Promise<string[]> {
  const rows = await sql<{ name: string }>(
    t,
    `select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  return rows.map((r) => r.name).filter((n) => !BOOKKEEPING.includes(n));
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A cheap fingerprint of the whole database: per table, its row count and a hash of its rows
 * (each row as PostgreSQL prints it, in a fixed order), in one statement. Two fingerprints
 * are equal when no row was inserted, changed or deleted in between.
 */
export class Fingerprinter {
  private constructor(
    private readonly t: TestApp,
    private readonly query: string,
  ) {}

  /** Fingerprints every table but `exclude`. */
  static async of(t: TestApp, exclude: readonly string[] = []): Promise<Fingerprinter> {
    const tables = (await tableNames(t)).filter((n) => !exclude.includes(n));
    const query = tables
      .map(
        (name) =>
          `select '${name}' as t, count(*)::int as n, ` +
          `coalesce(md5(string_agg(md5(x::text), '' order by md5(x::text))), '') as h ` +
          `from ${quote(name)} x`,
      )
      .join(' union all ');
    return new Fingerprinter(t, query);
  }

  /** `table:count:hash` per table, one line each. */
  async take(): Promise<string> {
    const rows = await sql<{ t: string; n: number; h: string }>(this.t, this.query);
    return rows.map((r) => `${r.t}:${r.n}:${r.h}`).join('\n');
  }
}

/**
 * Watches for writes between two points, cheaply. The next transaction id PostgreSQL would
 * assign moves whenever any transaction writes (read-only ones get none), so while it stands
 * still nothing was written and no fingerprint is needed. When it moved (a write somewhere:
 * in this database, a refused write that was rolled back, or, on a shared server, another
 * test's database), the fingerprints tell.
 */
export class WriteWatch {
  private fingerprint = '';
  private xid = '';
  /** How many checks needed the fingerprint. */
  fingerprints = 0;

  private constructor(
    private readonly t: TestApp,
    private readonly printer: Fingerprinter,
  ) {}

  static async of(t: TestApp, exclude: readonly string[] = []): Promise<WriteWatch> {
    const watch = new WriteWatch(t, await Fingerprinter.of(t, exclude));
    await watch.rebase();
    return watch;
  }

  private async nextXid(): Promise<string> {
    const [row] = await sql<{ x: string }>(
      this.t,
      'select pg_snapshot_xmax(pg_current_snapshot())::text as x',
    );
    return row!.x;
  }

  /** Takes the database as it is now as the base for the next check. */
  async rebase(): Promise<void> {
    this.xid = await this.nextXid();
    this.fingerprint = await this.printer.take();
  }

  /** The tables changed since the base ([] when none); the base moves to now either way. */
  async changedSinceBase(): Promise<string[]> {
    const xid = await this.nextXid();
    if (xid === this.xid) return [];
    this.fingerprints++;
    const now = await this.printer.take();
    const changed = changedTables(this.fingerprint, now);
    this.fingerprint = now;
    this.xid = xid;
    return changed;
  }
}

/** The tables whose lines differ between two fingerprints. */
export function changedTables(before: string, after: string): string[] {
  const lines = new Set(before.split('\n'));
  return after
    .split('\n')
    .filter((l) => !lines.has(l))
    .map((l) => l.split(':')[0]!);
}

/** Every row of every table (bookkeeping included), as `table: row` text lines. */
export async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = await tableNames(t);
  const all = [...tables, ...BOOKKEEPING];
  const query = all
    .map((name) => `select '${name}' as t, x::text as r from ${quote(name)} x`)
    .join(' union all ');
  const rows = await sql<{ t: string; r: string }>(t, query);
  return rows.map((row) => `${row.t}: ${row.r}`).join('\n');
}

// --- Logs ----------------------------------------------------------------------------------

/** Everything a logger wrote, kept in memory. */
export class LogCapture {
  private readonly chunks: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, callback) => {
      this.chunks.push(chunk.toString());
      callback();
    },
  });
  /** A logger at the most verbose level writing here. */
  readonly logger: Logger = createLogger('trace', this.stream);

  get text(): string {
    return this.chunks.join('');
  }

  /** The parsed lines (JSON). */
  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

// --- The test's process ------------------------------------------------------------------

/**
 * Counts unhandled rejections and uncaught exceptions in this process, which is the server's
 * (createTestApp runs Flagward in the test's process). `stop()` removes the listeners.
 */
export function watchProcess(): {
  readonly rejections: unknown[];
  readonly exceptions: unknown[];
  stop(): void;
} {
  const rejections: unknown[] = [];
  const exceptions: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const onException = (err: unknown) => exceptions.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    rejections,
    exceptions,
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

// --- Raw HTTP ------------------------------------------------------------------------------

export interface RawRequest {
  readonly method: string;
  /** Path and query, sent as they are (not re-encoded). */
  readonly path: string;
  /** A header given an array is sent once per value (repeated header lines). */
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: Buffer | string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** `text` with what a header line cannot carry percent-encoded (as UTF-8 bytes). */
export function headerSafe(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  );
}

/** One keep-alive agent for a test file's raw requests. */
export const rawAgent = new Agent({ keepAlive: true, maxSockets: 4 });

/** A raw request that failed (its error as `cause`), and what the client knows of its connection. */
export class RawRequestFailed extends Error {
  readonly code: string | undefined;
  /** The connection was reset (a TCP RST), not closed (which node:http calls "socket hang up"). */
  readonly reset: boolean;

  constructor(
    err: NodeJS.ErrnoException,
    /** It went out on a new connection, not a kept-alive one. */
    readonly freshConnection: boolean,
    /** Some of an answer had arrived. */
    readonly answered: boolean,
  ) {
    super(err.message, { cause: err });
    this.code = err.code;
    this.reset = err.code === 'ECONNRESET' && err.syscall !== undefined;
  }
}

/**
 * Sends exactly these headers and bytes (fetch would refuse or merge some of them) and
 * resolves with the answer; a connection the server closes without answering rejects, with a
 * RawRequestFailed.
 */
export function rawRequest(
  baseUrl: string,
  r: RawRequest,
  timeoutMs = 20_000,
  agent: Agent = rawAgent,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  // Characters no header line may carry (node:http refuses them) are sent percent-encoded.
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(r.headers ?? {})) {
    headers[name] = Array.isArray(value)
      ? value.map(headerSafe)
      : typeof value === 'string'
        ? headerSafe(value)
        : value;
  }
  // A body always goes with its length: without one, Node sends a GET's body unframed and the
  // server reads it as the start of another request.
  if (r.body !== undefined && headers['content-length'] === undefined) {
    headers['content-length'] = Buffer.byteLength(r.body);
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: r.method,
        path: r.path,
        headers,
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', fail);
      },
    );
    const fail = (err: NodeJS.ErrnoException): void =>
      reject(new RawRequestFailed(err, !req.reusedSocket, answered));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

// --- Markers -------------------------------------------------------------------------------

/** A value and the encodings it might be found in. */
export function encodingsOf(value: string): Record<string, string> {
  const bytes = Buffer.from(value, 'utf8');
  return {
    plain: value,
    base64: bytes.toString('base64').replace(/=+$/, ''),
    base64url: bytes.toString('base64url'),
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    url: encodeURIComponent(value),
    form: new URLSearchParams({ v: value }).toString().slice(2),
  };
}
