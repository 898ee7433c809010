import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServe, type ServeProcess } from '../support/cli';
import type { TestStorage } from '../support/database';
import { adminGql, createServerSideKey, workspaceHelpers } from '../support/sdk-workspace';
import { createWorkspace } from '../support/fixtures';
import { createTestApp } from '../support/test-app';
import { startPostgres, type PostgresServer } from './postgres-server';

/**
 * Flagward nodes sharing one throwaway PostgreSQL: a workspace made through GraphQL
 * (feature `banner`, off by default, on with value "beta" for the segment plan = beta), then
 * `nodes` real `flagward serve` processes on it.
 */
export interface Cluster {
  readonly pg: PostgresServer;
  readonly databaseUrl: string;
  readonly nodes: ServeProcess[];
  readonly token: string;
  readonly clientKey: string;
  readonly serverKey: string;
  /** The `banner` feature's ENVIRONMENT_DEFAULT state. */
  readonly stateId: string;
  /** GraphQL on a node as the admin: status and body. */
  gql(node: ServeProcess, query: string, variables?: Record<string, unknown>): Promise<GqlAnswer>;
  close(): Promise<void>;
}

export interface GqlAnswer {
  readonly status: number;
  readonly body: {
    data?: unknown;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

export async function startCluster(
  nodes: number,
  env: Record<string, string> = {},
): Promise<Cluster> {
  const pg = await startPostgres();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'flagward-cluster-'));
  const started: ServeProcess[] = [];
  try {
    const databaseUrl = await pg.createDatabase('flagward');
    const common = {
      DATABASE_URL: databaseUrl,
      FLAGWARD_DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('hex'),
      ...env,
    };
    const storage: TestStorage = {
      kind: 'postgres',
      dataDir,
      env: common,
      cleanup: async () => undefined,
    };
    const setup = await createTestApp(storage, common);
    const { token } = await setup.createUser('admin@cluster.test');
    const ws = await createWorkspace(setup, token, { environments: ['Production'] });
    const envId = ws.environments.Production!;
    const gql = adminGql(setup, token);
    const sdk = workspaceHelpers(gql, ws, envId);
    await sdk.createFeature({ name: 'banner', initialValue: 'v0', defaultEnabled: false });
    await sdk.segmentOverride(
      'beta users',
      [{ type: 'ALL', conditions: [{ property: 'plan', operator: 'EQUAL', value: 'beta' }] }],
      'banner',
      { enabled: true, value: 'beta' },
    );
    const stateId = await sdk.defaultStateId('banner');
    const serverKey = await createServerSideKey(gql, envId);
    await setup.close();
    // One at a time: each applies pending migrations at start.
    for (let i = 0; i < nodes; i++) started.push(await startServe(common));
    return {
      pg,
      databaseUrl,
      nodes: started,
      token,
      clientKey: ws.apiKeys.Production!,
      serverKey,
      stateId,
      async gql(node, query, variables = {}) {
        const res = await fetch(`${node.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(30_000),
        });
        return { status: res.status, body: (await res.json()) as GqlAnswer['body'] };
      },
      async close() {
        for (const n of started) await n.stop('SIGTERM', 10_000);
        await pg.destroy();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const n of started) await n.stop('SIGKILL');
    await pg.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface Flag {
  readonly enabled: boolean;
  readonly feature_state_value: unknown;
  readonly feature: { readonly name: string };
}

/** `GET /api/v1/flags/` on a node: the `banner` flag. */
export async function banner(node: ServeProcess, key: string): Promise<Flag> {
  const res = await fetch(`${node.url}/api/v1/flags/`, {
    headers: { 'X-Environment-Key': key },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`flags: ${res.status} ${await res.text()}`);
  const flags = (await res.json()) as Flag[];
  return flags.find((f) => f.feature.name === 'banner')!;
}

/** An SSE stream on a node: the `updated_at` of each `environment_updated` event, as it comes. */
export interface Stream {
  readonly events: { readonly updatedAt: number; readonly at: number }[];
  /** Whether the server ended the stream. */
  ended(): boolean;
  close(): void;
}

export async function openStream(node: ServeProcess, clientKey: string): Promise<Stream> {
  const controller = new AbortController();
  const res = await fetch(`${node.url}/sse/environments/${clientKey}/stream`, {
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`stream: ${res.status}`);
  const events: Stream['events'][number][] = [];
  let ended = false;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (/^event: environment_updated$/m.test(block) && data)
            events.push({
              updatedAt: (JSON.parse(data[1]!) as { updated_at: number }).updated_at,
              at: performance.now(),
            });
        }
      }
    } catch {
      // Aborted by close().
    }
    ended = true;
  })();
  return { events, ended: () => ended, close: () => controller.abort() };
}

/** Waits until `check` holds (polling every `everyMs`); resolves with the time it held, or undefined. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 5,
): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return performance.now();
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return undefined;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}
