import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from '../support/fixtures';
import { adminWorkspace, type Gql, workspaceHelpers } from '../support/sdk-workspace';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The realtime stream of sdk-rest-api.md §11 through HTTP: `sse/environments/<key>/stream`
 * sends `environment_updated` with `{"updated_at": <unix seconds>}` within 1 s of a change.
 */

interface SseEvent {
  readonly event: string;
  readonly data: string;
  /** When the event was parsed (performance.now()). */
  readonly at: number;
}

/** An open stream read with fetch; `next()` waits for the next event. */
interface Stream {
  readonly response: Response;
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Resolves with `performance.now()` when the server ends the stream cleanly. */
  readonly ended: Promise<number>;
  close(): void;
}

async function openStream(url: string): Promise<Stream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const queue: SseEvent[] = [];
  const waiting: ((e: SseEvent) => void)[] = [];
  let buffer = '';
  let markEnded: (at: number) => void = () => undefined;
  const ended = new Promise<number>((resolve) => (markEnded = resolve));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          markEnded(performance.now());
          return;
        }
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = block.split('\n').filter((l) => l && !l.startsWith(':'));
          const field = (name: string) =>
            fields
              .find((l) => l.startsWith(`${name}:`))
              ?.slice(name.length + 1)
              .trim();
          const data = field('data');
          if (data === undefined) continue;
          const e = { event: field('event') ?? 'message', data, at: performance.now() };
          const w = waiting.shift();
          if (w) w(e);
          else queue.push(e);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    ended,
    next(timeoutMs = 3_000) {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (e: SseEvent) => {
          clearTimeout(timer);
          resolve(e);
        };
        waiting.push(done);
      });
    },
    close: () => abort.abort(),
  };
}

async function until(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Realtime SSE stream', () => {
  let t: TestApp;
  let ws: Workspace;
  let clientKey: string;
  let stateId: string;

  let gql: Gql;
  const streamUrl = (key: string) => `${t.url}/sse/environments/${key}/stream`;
  const listeners = () => t.app.realtime.listeners;

  beforeAll(async () => {
    ({ t, ws, clientKey, gql } = await adminWorkspace(['Production', 'Staging']));
    const sdk = workspaceHelpers(gql, ws, ws.environments.Production!);
    await sdk.createFeature({ name: 'banner', initialValue: 'hi', defaultEnabled: true });
    stateId = await sdk.defaultStateId('banner');
  });

  afterAll(async () => {
    await t?.close();
  });

  const updateState = (value: string) =>
    gql(
      'mutation($id: ID!, $v: FlagValue) { updateFeatureState(id: $id, input: { value: $v }) { id } }',
      {
        id: stateId,
        v: value,
      },
    );

  it('sends environment_updated within 1 s of a GraphQL change', async () => {
    const stream = await openStream(streamUrl(clientKey));
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get('access-control-allow-origin')).toBe('*');

      // The current stamp comes at once, equal to the flags' document header.
      const first = await stream.next();
      expect(first.event).toBe('environment_updated');
      const initial = JSON.parse(first.data) as { updated_at: number };
      const flags = await fetch(`${t.url}/api/v1/flags/`, {
        headers: { 'X-Environment-Key': clientKey },
      });
      expect(initial.updated_at).toBe(Number(flags.headers.get('x-flagsmith-document-updated-at')));

      const latencies: number[] = [];
      let previous = initial.updated_at;
      for (const value of ['one', 'two', 'three']) {
        await updateState(value);
        const changed = performance.now();
        const e = await stream.next(1_000);
        latencies.push(e.at - changed);
        expect(e.event).toBe('environment_updated');
        const { updated_at } = JSON.parse(e.data) as { updated_at: number };
        expect(typeof updated_at).toBe('number');
        expect(updated_at).toBeGreaterThan(previous);
        expect(Math.abs(updated_at * 1000 - Date.now())).toBeLessThan(60_000);
        previous = updated_at;
      }
      console.info(
        `SSE delivery latency after the mutation returned (ms): ${latencies.map((l) => l.toFixed(0)).join(', ')}`,
      );
      for (const l of latencies) expect(l).toBeLessThan(1_000);
    } finally {
      stream.close();
    }
  });

  it('notifies only the subscribers of the changed environment', async () => {
    const prod = await openStream(streamUrl(clientKey));
    const staging = await openStream(streamUrl(ws.apiKeys.Staging!));
    try {
      await prod.next();
      await staging.next();
      await updateState('four');
      expect(JSON.parse((await prod.next(1_000)).data)).toHaveProperty('updated_at');
      await expect(staging.next(800)).rejects.toThrow(/no event/);
    } finally {
      prod.close();
      staging.close();
    }
  });

  it('forgets streams whose client disconnected', async () => {
    await until(() => listeners() === 0);
    const a = await openStream(streamUrl(clientKey));
    const b = await openStream(streamUrl(clientKey));
    await a.next();
    await b.next();
    expect(listeners()).toBe(2);
    a.close();
    await until(() => listeners() === 1);
    // The remaining one still hears changes.
    await updateState('five');
    expect((await b.next(1_000)).event).toBe('environment_updated');
    b.close();
    await until(() => listeners() === 0);
  });

  it('answers an unknown key with 404 JSON', async () => {
    const res = await fetch(streamUrl('no-such-key'));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Not found.' });
    expect((await fetch(`${t.url}/sse/environments/${clientKey}/streams`)).status).toBe(404);
  });

  it('answers CORS preflights for the stream', async () => {
    const res = await fetch(streamUrl(clientKey), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'cache-control',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'cache-control',
    );
  });

  it('ends open streams when the app closes', async () => {
    const other = await createTestApp();
    const otherToken = (await other.createUser('owner@acme.test')).token;
    const otherWs = await createWorkspace(other, otherToken, { environments: ['Only'] });
    const stream = await openStream(`${other.url}/sse/environments/${otherWs.apiKeys.Only}/stream`);
    await stream.next();
    // The stream is ended by the server (a clean end, not a cut at the shutdown deadline),
    // first thing in the shutdown: timed to the end of the stream, not to the end of the
    // whole close (which also stops the database, slow on a loaded machine).
    const started = performance.now();
    const closed = other.close();
    const endedAt = await Promise.race([
      stream.ended,
      closed.then(() => Promise.race([stream.ended, Promise.resolve(Number.NaN)])),
    ]);
    expect(endedAt - started).toBeLessThan(2_000);
    await closed;
    stream.close();
  });
});
