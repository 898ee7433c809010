import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../support/cli';
import { createTestStorage, type TestStorage } from '../support/database';
import { createWorkspace, ok } from '../support/fixtures';
import { createTestApp } from '../support/test-app';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

/**
 * The outbox loses nothing: 500 flag changes are made while the receiver is down and the
 * server is restarted twice (on PostgreSQL the first restart is a SIGKILL crash); once the
 * receiver is back, every event arrives, and an event seen twice has the same delivery id.
 * On PostgreSQL the backlog is then sent by two Flagward processes sharing the outbox, and
 * no delivery is sent by both.
 */

const CHANGES = 500;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('webhook outbox durability', () => {
  let storage: TestStorage | undefined;
  let receiver: Receiver | undefined;
  const servers: ServeProcess[] = [];

  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await receiver?.close();
    await storage?.cleanup();
  });

  it(`delivers all ${CHANGES} events made while the receiver was down, across two restarts`, async () => {
    storage = await createTestStorage();
    const port = await freePort();
    const env = {
      ...storage.env,
      SECRET_KEY: randomBytes(32).toString('hex'),
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      WEBHOOK_RETRY_BASE_SECONDS: '0.5',
      // Retries spaced out enough that a down receiver does not crowd out the changes.
      WEBHOOK_RETRY_MAX_SECONDS: '5',
      WEBHOOK_POLL_MS: '200',
    };

    // Set-up through the API: a workspace, a feature, a webhook on a port nobody listens on.
    const setup = await createTestApp(storage, env);
    const { token } = await setup.createUser('durable@example.com');
    const ws = await createWorkspace(setup, token, { environments: ['Production'] });
    const opts = { token };
    const feature = ok(
      await setup.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "counter" }) { id } }',
        { p: ws.projectId },
        opts,
      ),
    ).createFeature.id;
    ok(
      await setup.gql(
        `mutation($e: ID!, $u: String!) { createEnvironmentWebhook(input: {
             environmentId: $e, url: $u, secret: "durable-secret", events: [FLAG_FEATURE_UPDATED] }) { id } }`,
        { e: ws.environments.Production, u: `http://127.0.0.1:${port}/hook` },
        opts,
      ),
    );
    const stateId = ok(
      await setup.gql<{ featureStates: { nodes: { id: string }[] } }>(
        'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id } } }',
        { e: ws.environments.Production, f: [feature] },
        opts,
      ),
    ).featureStates.nodes[0]!.id;
    await setup.close();

    /** Changes `from`..`to`-1 in one request: aliased mutations, each its own transaction. */
    const changes = async (server: ServeProcess, from: number, to: number) => {
      const fields = [];
      for (let n = from; n < to; n++)
        fields.push(`c${n}: updateFeatureState(id: $i, input: { value: "value-${n}" }) { id }`);
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation($i: ID!) { ${fields.join(' ')} }`,
          variables: { i: stateId },
        }),
      });
      const body = (await res.json()) as { errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
    };

    // Three lives of the server, a third of the changes each; the receiver is down throughout.
    const crash = storage.kind === 'postgres';
    let n = 0;
    for (const life of [0, 1, 2]) {
      const server = await startServe(env);
      servers.push(server);
      const until = Math.round((CHANGES * (life + 1)) / 3);
      for (; n < until; n = Math.min(n + 10, until))
        await changes(server, n, Math.min(n + 10, until));
      // Give the worker time to fail a few attempts on the closed port.
      await new Promise((r) => setTimeout(r, 300));
      if (life < 2) {
        const code = await server.stop(life === 0 && crash ? 'SIGKILL' : 'SIGTERM');
        if (!(life === 0 && crash)) expect(code, server.output()).toBe(0);
        servers.pop();
      }
    }
    expect(n).toBe(CHANGES);

    // On PostgreSQL a second node joins; both send from the same outbox.
    if (storage.kind === 'postgres') servers.push(await startServe(env));
    receiver = await startReceiver(port);
    const deadline = Date.now() + 60_000;
    const ids = () => new Set(receiver!.all.map((r) => r.headers['x-flagward-delivery']));
    while (ids().size < CHANGES && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const all = receiver.all;
    const values = new Set(
      all.map(
        (r) =>
          (
            JSON.parse(r.body.toString()) as {
              data: { new_state: { feature_state_value: string } };
            }
          ).data.new_state.feature_state_value,
      ),
    );
    const expected = Array.from({ length: CHANGES }, (_, i) => `value-${i}`);
    expect([...values].sort()).toEqual(expected.sort());
    expect(ids().size).toBe(CHANGES);
    // A duplicate is the same delivery (same id, same body), never a new event.
    const bodyOf = new Map<string, string>();
    for (const r of all) {
      const id = String(r.headers['x-flagward-delivery']);
      const body = r.body.toString();
      if (bodyOf.has(id)) expect(body).toBe(bodyOf.get(id));
      bodyOf.set(id, body);
    }
    // Nothing had been received when the receiver came back, so nothing was in flight:
    // every delivery arrives exactly once, even with two nodes sending.
    expect(all.length).toBe(CHANGES);
    console.log(
      `outbox durability (${storage.kind}, ${servers.length} sending node(s)): ${all.length} requests for ${CHANGES} changes`,
    );
  }, 240_000);
});
