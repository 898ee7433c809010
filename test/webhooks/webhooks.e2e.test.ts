import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { DeliveryStatus, WebhookDelivery } from '../../src/webhooks/delivery.entity';
import { pythonJsonDumps } from '../../src/webhooks/python-json';
import { verifyDelivery } from '../../src/webhooks/signing';
import { Webhook } from '../../src/webhooks/webhook.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';
import { startReceiver, type Receiver, type Received } from '../support/webhook-receiver';

const SECRET = 'a-webhook-secret-of-some-length';

interface Payload {
  event_type: string;
  data: Record<string, unknown> & {
    changed_by?: string;
    timestamp?: string;
    new_state?: StateData | null;
    previous_state?: StateData;
  };
}
interface StateData {
  enabled: boolean;
  feature_state_value: unknown;
  identity_identifier: string | null;
  feature: { id: number; name: string; project: { id: number; name: string } };
  environment: { id: number; name: string };
  feature_segment: { segment: { id: number; name: string }; priority: number } | null;
  multivariate_feature_state_values: unknown[];
}

const payloadOf = (r: Received) => JSON.parse(r.body.toString('utf8')) as Payload;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

describe('webhooks', () => {
  let t: TestApp;
  let admin: string;
  let adminEmail: string;
  let ws: Workspace;
  let receiver: Receiver;
  let envHook: string;
  let orgHook: string;
  let featureId: string;
  const em = () => t.app.db.orm.em.fork();
  const dev = () => ws.environments.Development!;

  async function gql<T>(query: string, variables?: Record<string, unknown>, token = admin) {
    return ok(await t.gql<T>(query, variables, { token }));
  }

  async function createFeature(name: string): Promise<string> {
    const res = await gql<{ createFeature: { id: string } }>(
      'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
      { i: { projectId: ws.projectId, name, initialValue: 'blue' } },
    );
    return res.createFeature.id;
  }

  async function defaultStateId(environmentId: string, feature: string): Promise<string> {
    const res = await gql<{ featureStates: { nodes: { id: string; kind: string }[] } }>(
      'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id kind } } }',
      { e: environmentId, f: [feature] },
    );
    return res.featureStates.nodes.find((s) => s.kind === 'ENVIRONMENT_DEFAULT')!.id;
  }

  /** Sends what is due and returns what the receiver got since the last call. */
  async function delivered(): Promise<Received[]> {
    await t.app.webhooks.drain();
    return receiver.take();
  }

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await createTestApp(undefined, {
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      WEBHOOK_RETRY_BASE_SECONDS: '0.05',
      WEBHOOK_RETRY_MAX_SECONDS: '0.2',
      WEBHOOK_TIMEOUT_SECONDS: '2',
      // The worker runs when a test calls drain(), not on its own.
      WEBHOOK_POLL_MS: '60000',
    });
    adminEmail = 'hooks-admin@example.com';
    admin = (await t.createUser(adminEmail)).token;
    ws = await createWorkspace(t, admin);
    featureId = await createFeature('checkout');
  });

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  beforeEach(() => {
    receiver.respondWith(() => 200);
  });

  describe('management', () => {
    it('creates an environment webhook whose secret is sealed and never returned', async () => {
      const res = await gql<{ createEnvironmentWebhook: Record<string, unknown> }>(
        `mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) {
           id scope url name enabled hasSecret events environmentId organisationId } }`,
        { i: { environmentId: dev(), url: receiver.url('/env'), name: 'CI', secret: SECRET } },
      );
      const hook = res.createEnvironmentWebhook;
      expect(hook).toMatchObject({
        scope: 'ENVIRONMENT',
        url: receiver.url('/env'),
        name: 'CI',
        enabled: true,
        hasSecret: true,
        events: [],
        environmentId: dev(),
        organisationId: null,
      });
      envHook = hook.id as string;
      const row = await em().findOneOrFail(Webhook, Number(envHook), {
        populate: ['secretCiphertext'],
      });
      expect(row.secretCiphertext).toMatch(/^v1\./);
      expect(row.secretCiphertext).not.toContain(SECRET);
      // The type has no field that could return it.
      const type = await gql<{ __type: { fields: { name: string }[] } }>(
        '{ __type(name: "Webhook") { fields { name } } }',
      );
      expect(type.__type.fields.map((f) => f.name).filter((n) => /secret/i.test(n))).toEqual([
        'hasSecret',
      ]);
      // Creating it is in the audit log, without the secret.
      const audit = await em().find(AuditLog, { relatedObjectType: AuditObjectType.WEBHOOK });
      // The URL's path may hold a credential (Slack's do): the log shows its origin only.
      expect(audit.map((a) => a.log)).toContain(
        `Webhook created: http://127.0.0.1:${receiver.port}/…`,
      );
      expect(JSON.stringify(audit)).not.toContain('/env');
      expect(JSON.stringify(audit)).not.toContain(SECRET);
      await delivered(); // its own audit record goes nowhere yet: no organisation webhook
    });

    it('creates an organisation webhook', async () => {
      const res = await gql<{ createOrganisationWebhook: { id: string; scope: string } }>(
        `mutation($i: CreateOrganisationWebhookInput!) {
           createOrganisationWebhook(input: $i) { id scope } }`,
        { i: { organisationId: ws.organisationId, url: receiver.url('/org'), secret: SECRET } },
      );
      expect(res.createOrganisationWebhook.scope).toBe('ORGANISATION');
      orgHook = res.createOrganisationWebhook.id;
    });

    it('refuses private, link-local and metadata addresses, and non-http URLs, when saved', async () => {
      for (const url of [
        'http://10.0.0.1/hook',
        'http://169.254.169.254/latest/meta-data/',
        'http://127.0.0.2:8080/',
        'http://[::1]/',
        'ftp://example.com/',
        'not a url',
        'http://user:pw@example.com/',
      ]) {
        const res = await t.gql(
          `mutation($i: CreateEnvironmentWebhookInput!) { createEnvironmentWebhook(input: $i) { id } }`,
          { i: { environmentId: dev(), url } },
          { token: admin },
        );
        expect(codeOf(res), url).toBe('BAD_USER_INPUT');
      }
      expect(await em().count(Webhook, { url: { $like: '%10.0.0.1%' } })).toBe(0);
    });

    it('lets only environment admins manage environment webhooks, and organisation admins organisation ones', async () => {
      const viewer = await memberWithGrants(t, ws, 'hooks-viewer@example.com', [
        { keys: ['VIEW_PROJECT'] },
        { keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'], environment: dev() },
      ]);
      const envAdmin = await memberWithGrants(t, ws, 'hooks-env-admin@example.com', [
        { keys: ['VIEW_PROJECT'] },
        { keys: [], environment: dev(), admin: true },
      ]);
      const outsider = (await t.createUser('hooks-outsider@example.com')).token;
      await createWorkspace(t, outsider, { organisation: 'Other' });

      const list = (token: string) =>
        t.gql(
          'query($e: ID!) { environmentWebhooks(environmentId: $e) { nodes { id } } }',
          { e: dev() },
          { token },
        );
      expect(codeOf(await list(viewer))).toBe('FORBIDDEN');
      expect(codeOf(await list(outsider))).toBe('NOT_FOUND');
      expect(ok(await list(envAdmin))).toEqual({
        environmentWebhooks: { nodes: [{ id: envHook }] },
      });

      const one = (token: string, id: string) =>
        t.gql('query($i: ID!) { webhook(id: $i) { id } }', { i: id }, { token });
      expect(codeOf(await one(viewer, envHook))).toBe('NOT_FOUND');
      expect(codeOf(await one(outsider, envHook))).toBe('NOT_FOUND');
      expect(codeOf(await one(envAdmin, orgHook))).toBe('NOT_FOUND');
      expect(ok(await one(envAdmin, envHook))).toEqual({ webhook: { id: envHook } });

      const rename = await t.gql(
        'mutation($i: ID!) { updateWebhook(id: $i, input: { name: "x" }) { id } }',
        { i: envHook },
        { token: outsider },
      );
      expect(codeOf(rename)).toBe('BAD_USER_INPUT');
      const orgList = await t.gql(
        'query($o: ID!) { organisationWebhooks(organisationId: $o) { nodes { id } } }',
        { o: ws.organisationId },
        { token: envAdmin },
      );
      expect(codeOf(orgList)).toBe('FORBIDDEN');
      expect(
        ok(
          await t.gql(
            'query($o: ID!) { organisationWebhooks(organisationId: $o) { nodes { id hasSecret } } }',
            { o: ws.organisationId },
            { token: admin },
          ),
        ),
      ).toEqual({ organisationWebhooks: { nodes: [{ id: orgHook, hasSecret: true }] } });
      await delivered();
    });
  });

  describe('flag events', () => {
    it('sends FLAG_UPDATED with Flagsmith’s body, signature and the delivery headers', async () => {
      const stateId = await defaultStateId(dev(), featureId);
      await gql(
        'mutation($i: ID!) { updateFeatureState(id: $i, input: { enabled: true, value: "green" }) { id } }',
        {
          i: stateId,
        },
      );
      const got = await delivered();
      const env = got.filter((r) => r.path === '/env');
      expect(env).toHaveLength(1);
      const r = env[0]!;
      const body = r.body.toString('utf8');
      const payload = payloadOf(r);
      // Python's json.dumps(sort_keys=True) byte for byte.
      expect(body).toBe(pythonJsonDumps(payload));
      expect(body).toContain('{"data": {"changed_by": ');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-flagsmith-signature']).toBe(
        createHmac('sha256', SECRET).update(r.body).digest('hex'),
      );
      expect(verifyDelivery({ secret: SECRET, body: r.body, headers: r.headers })).toMatchObject({
        ok: true,
      });
      expect(r.headers['x-flagward-event']).toBe('FLAG_FEATURE_UPDATED');
      expect(payload.event_type).toBe('FLAG_UPDATED');
      expect(payload.data.changed_by).toBe(adminEmail);
      expect(payload.data.timestamp).toMatch(TIMESTAMP);
      expect(payload.data.previous_state).toMatchObject({
        enabled: false,
        feature_state_value: 'blue',
        identity_identifier: null,
        feature_segment: null,
        feature: {
          id: Number(featureId),
          name: 'checkout',
          project: { id: Number(ws.projectId), name: 'Web' },
        },
        environment: { id: Number(dev()), name: 'Development' },
      });
      expect(payload.data.new_state).toMatchObject({ enabled: true, feature_state_value: 'green' });
      // The organisation webhook hears flag updates too, and the audit record.
      const org = got.filter((r) => r.path === '/org').map((r) => r.headers['x-flagward-event']);
      expect(org.sort()).toEqual(['AUDIT_LOG_CREATED', 'FLAG_FEATURE_UPDATED']);
    });

    it('AUDIT_LOG_CREATED carries the audit record, its id included', async () => {
      const stateId = await defaultStateId(dev(), featureId);
      await gql(
        'mutation($i: ID!) { updateFeatureState(id: $i, input: { value: "red" }) { id } }',
        { i: stateId },
      );
      const audit = (await delivered()).filter(
        (r) => r.headers['x-flagward-event'] === 'AUDIT_LOG_CREATED',
      );
      expect(audit).toHaveLength(1);
      const payload = payloadOf(audit[0]!);
      const newest = await em().findOneOrFail(
        AuditLog,
        { relatedObjectType: AuditObjectType.FEATURE_STATE },
        { orderBy: { id: 'desc' } },
      );
      expect(payload).toMatchObject({
        event_type: 'AUDIT_LOG_CREATED',
        data: {
          id: Number(newest.id),
          log: 'Flag state / Remote Config value updated: checkout',
          related_object_type: 'FEATURE_STATE',
          author: { email: adminEmail },
          environment: { id: Number(dev()), name: 'Development' },
          project: { id: Number(ws.projectId), name: 'Web' },
          is_system_event: false,
        },
      });
      expect(payload.data.created_date).toMatch(TIMESTAMP);
    });

    it('names each kind of change, and FLAG_DELETED goes to environment webhooks only', async () => {
      const f = await createFeature('banner');
      const created = (await delivered()).filter((r) => r.path === '/env');
      expect(created.map((r) => r.headers['x-flagward-event'])).toEqual(['FLAG_FEATURE_CREATED']);
      expect(payloadOf(created[0]!).data).not.toHaveProperty('previous_state');
      expect(payloadOf(created[0]!).data.new_state).toMatchObject({ feature_state_value: 'blue' });

      const segment = await gql<{ createSegment: { id: string } }>(
        'mutation($i: CreateSegmentInput!) { createSegment(input: $i) { id } }',
        {
          i: {
            projectId: ws.projectId,
            name: 'beta',
            rules: [
              { type: 'ALL', conditions: [{ property: 'beta', operator: 'EQUAL', value: 'yes' }] },
            ],
          },
        },
      );
      const override = await gql<{ createSegmentOverride: { id: string } }>(
        'mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { id } }',
        {
          i: {
            environmentId: dev(),
            featureId: f,
            segmentId: segment.createSegment.id,
            enabled: true,
            value: 'beta',
          },
        },
      );
      await gql(
        'mutation($i: ID!) { updateSegmentOverride(id: $i, input: { value: "beta2" }) { id } }',
        {
          i: override.createSegmentOverride.id,
        },
      );
      await gql('mutation($i: ID!) { deleteSegmentOverride(id: $i) }', {
        i: override.createSegmentOverride.id,
      });
      const identity = await gql<{ createIdentity: { id: string } }>(
        'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
        { i: { environmentId: dev(), identifier: 'user-42' } },
      );
      await gql(
        'mutation($f: ID!, $i: ID!) { setIdentityOverride(featureId: $f, identityId: $i, input: { enabled: true }) { id } }',
        {
          f,
          i: identity.createIdentity.id,
        },
      );
      await gql('mutation($i: ID!) { deleteFeature(id: $i) }', { i: f });

      const got = await delivered();
      const env = got.filter((r) => r.path === '/env');
      expect(env.map((r) => r.headers['x-flagward-event'])).toEqual([
        'FLAG_SEGMENT_CREATED',
        'FLAG_SEGMENT_UPDATED',
        'FLAG_SEGMENT_DELETED',
        'FLAG_IDENTITY_UPDATED',
        'FLAG_FEATURE_DELETED',
      ]);
      const [segCreated, segUpdated, segDeleted, identityUpdated, deleted] = env.map(payloadOf);
      expect(segCreated!.data.new_state!.feature_segment).toMatchObject({
        segment: { name: 'beta' },
        priority: 0,
      });
      expect(segCreated!.data).not.toHaveProperty('previous_state');
      expect(segUpdated!.data.previous_state!.feature_state_value).toBe('beta');
      expect(segUpdated!.data.new_state!.feature_state_value).toBe('beta2');
      expect(segDeleted!.data.new_state).toBeNull();
      expect(identityUpdated!.data.new_state).toMatchObject({
        identity_identifier: 'user-42',
        enabled: true,
      });
      expect(deleted!.event_type).toBe('FLAG_DELETED');
      expect(deleted!.data.new_state).toBeNull();
      expect(deleted!.data.previous_state).toMatchObject({
        feature: { name: 'banner' },
        identity_identifier: null,
      });
      const org = got.filter((r) => r.path === '/org').map((r) => r.headers['x-flagward-event']);
      expect(org).not.toContain('FLAG_FEATURE_DELETED');
      expect(org).toContain('FLAG_IDENTITY_UPDATED');
    });

    it('a webhook hears only the events it subscribed to', async () => {
      await gql(
        'mutation($i: ID!) { updateWebhook(id: $i, input: { events: [FLAG_FEATURE_CREATED] }) { events } }',
        {
          i: envHook,
        },
      );
      const stateId = await defaultStateId(dev(), featureId);
      await gql(
        'mutation($i: ID!) { updateFeatureState(id: $i, input: { value: "subscribed?" }) { id } }',
        { i: stateId },
      );
      await createFeature('subscribed');
      const env = (await delivered()).filter((r) => r.path === '/env');
      expect(env.map((r) => r.headers['x-flagward-event'])).toEqual(['FLAG_FEATURE_CREATED']);
      const bad = await t.gql(
        'mutation($i: ID!) { updateWebhook(id: $i, input: { events: [AUDIT_LOG_CREATED] }) { id } }',
        { i: envHook },
        { token: admin },
      );
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      await gql('mutation($i: ID!) { updateWebhook(id: $i, input: { events: [] }) { id } }', {
        i: envHook,
      });
    });

    it('a change that fails writes no delivery', async () => {
      await delivered();
      const before = await em().count(WebhookDelivery, {});
      const stateId = await defaultStateId(dev(), featureId);
      const res = await t.gql(
        'mutation($i: ID!) { updateFeatureState(id: $i, input: { enabled: true, multivariateAllocations: [{ optionId: "999999", percentageAllocation: 10 }] }) { id } }',
        { i: stateId },
        { token: admin },
      );
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(await em().count(WebhookDelivery, {})).toBe(before);
      expect(await delivered()).toEqual([]);
    });
  });

  describe('delivery', () => {
    const DELIVERIES = `query($w: ID!, $s: WebhookDeliveryStatus) {
      webhookDeliveries(webhookId: $w, status: $s, first: 5) {
        totalCount
        edges { node { id deliveryId event status attemptCount lastStatusCode lastError payload
          attempts { attempt statusCode error durationMs } } } } }`;
    interface DeliveryNode {
      id: string;
      deliveryId: string;
      event: string;
      status: string;
      attemptCount: number;
      attempts: { attempt: number; statusCode: number | null; error: string | null }[];
      lastStatusCode: number | null;
      lastError: string | null;
    }
    const newest = async (s?: string) =>
      (
        await gql<{ webhookDeliveries: { edges: { node: DeliveryNode }[] } }>(DELIVERIES, {
          w: envHook,
          s,
        })
      ).webhookDeliveries.edges[0]!.node;

    async function change(value: string): Promise<void> {
      const stateId = await defaultStateId(dev(), featureId);
      await gql(
        'mutation($i: ID!, $v: FlagValue) { updateFeatureState(id: $i, input: { value: $v }) { id } }',
        {
          i: stateId,
          v: value,
        },
      );
    }

    /** Drains until nothing is pending (retries are due within the 0.2 s backoff cap). */
    async function settle(): Promise<Received[]> {
      const got: Received[] = [];
      for (let i = 0; i < 40; i++) {
        got.push(...(await delivered()));
        if ((await em().count(WebhookDelivery, { status: DeliveryStatus.PENDING })) === 0)
          return got;
        await new Promise((r) => setTimeout(r, 60));
      }
      throw new Error('deliveries still pending');
    }

    it('retries 5xx and 429 with the same delivery id, and records every attempt', async () => {
      const answers = [500, 429, 503, 200];
      receiver.respondWith((r) => (r.path === '/env' ? answers.shift()! : 200));
      await change('retry-me');
      const env = (await settle()).filter((r) => r.path === '/env');
      expect(env).toHaveLength(4);
      expect(new Set(env.map((r) => r.headers['x-flagward-delivery'])).size).toBe(1);
      expect(new Set(env.map((r) => r.body.toString('utf8'))).size).toBe(1);
      const d = await newest();
      expect(d).toMatchObject({
        status: 'DELIVERED',
        attemptCount: 4,
        lastStatusCode: 200,
        lastError: null,
      });
      expect(d.deliveryId).toBe(env[0]!.headers['x-flagward-delivery']);
      expect(d.attempts.map((a) => a.statusCode)).toEqual([500, 429, 503, 200]);
      expect(d.attempts[0]!.error).toBe('the receiver answered 500');
    });

    it('a refusal (4xx) is a dead letter at once; replaying it sends the same delivery again', async () => {
      receiver.respondWith((r) => (r.path === '/env' ? 410 : 200));
      await change('gone');
      const env = (await settle()).filter((r) => r.path === '/env');
      expect(env).toHaveLength(1);
      const dead = await newest('DEAD');
      expect(dead).toMatchObject({ status: 'DEAD', attemptCount: 1, lastStatusCode: 410 });

      receiver.respondWith(() => 200);
      const replay = await gql<{ replayWebhookDelivery: { status: string } }>(
        'mutation($i: ID!) { replayWebhookDelivery(id: $i) { status } }',
        { i: dead.id },
      );
      expect(replay.replayWebhookDelivery.status).toBe('PENDING');
      const again = (await settle()).filter((r) => r.path === '/env');
      expect(again.map((r) => r.headers['x-flagward-delivery'])).toEqual([dead.deliveryId]);
      expect(again[0]!.body.equals(env[0]!.body)).toBe(true);
      expect((await newest()).status).toBe('DELIVERED');
    });

    it('does not follow redirects', async () => {
      receiver.respondWith((r) =>
        r.path === '/env' ? { status: 302, location: receiver.url('/elsewhere') } : 200,
      );
      await change('redirected');
      const got = await settle();
      expect(got.filter((r) => r.path === '/elsewhere')).toEqual([]);
      expect(await newest('DEAD')).toMatchObject({ lastStatusCode: 302 });
    });

    it('checks the address again when sending (after DNS), not only when saved', async () => {
      // As if the name now pointed somewhere private: the stored URL is changed underneath.
      const good = receiver.url('/env');
      await em().nativeUpdate(
        Webhook,
        { id: Number(envHook) },
        { url: good.replace('127.0.0.1', '127.0.0.2') },
      );
      await change('rebound');
      const got = await settle();
      expect(got.filter((r) => r.path === '/env')).toEqual([]);
      const dead = await newest('DEAD');
      expect(dead.lastError).toMatch(/127\.0\.0\.2 is a loopback address/);
      expect(dead.attempts).toHaveLength(1);
      await em().nativeUpdate(Webhook, { id: Number(envHook) }, { url: good });
    });

    it('replays every dead letter of a webhook at once', async () => {
      const count = await gql<{ replayDeadWebhookDeliveries: number }>(
        'mutation($w: ID!) { replayDeadWebhookDeliveries(webhookId: $w) }',
        { w: envHook },
      );
      expect(count.replayDeadWebhookDeliveries).toBe(2);
      const env = (await settle()).filter((r) => r.path === '/env');
      expect(env).toHaveLength(2);
      expect(
        await em().count(WebhookDelivery, {
          webhook: Number(envHook),
          status: DeliveryStatus.DEAD,
        }),
      ).toBe(0);
    });

    it('sends a test event on request', async () => {
      const res = await gql<{ sendTestWebhookEvent: { event: string; status: string } }>(
        'mutation($w: ID!) { sendTestWebhookEvent(webhookId: $w) { event status } }',
        { w: envHook },
      );
      expect(res.sendTestWebhookEvent).toEqual({ event: 'TEST', status: 'PENDING' });
      const env = (await settle()).filter((r) => r.path === '/env');
      expect(env).toHaveLength(1);
      expect(env[0]!.headers['x-flagward-event']).toBe('TEST');
      expect(payloadOf(env[0]!)).toMatchObject({
        event_type: 'FLAG_UPDATED',
        data: { test: true, changed_by: adminEmail },
      });
      expect(
        verifyDelivery({ secret: SECRET, body: env[0]!.body, headers: env[0]!.headers }).ok,
      ).toBe(true);
    });

    it('a disabled webhook gets nothing new; deleting one removes its deliveries', async () => {
      await gql('mutation($i: ID!) { updateWebhook(id: $i, input: { enabled: false }) { id } }', {
        i: envHook,
      });
      await change('while disabled');
      expect((await settle()).filter((r) => r.path === '/env')).toEqual([]);
      await gql('mutation($i: ID!) { deleteWebhook(id: $i) }', { i: envHook });
      expect(await em().count(Webhook, { id: Number(envHook) })).toBe(0);
      expect(await em().count(WebhookDelivery, { webhook: Number(envHook) })).toBe(0);
    });
  });
});

describe('webhook dead letters', () => {
  it('a delivery still failing after WEBHOOK_DEAD_AFTER_HOURS becomes a dead letter', async () => {
    const receiver = await startReceiver();
    receiver.respondWith(() => 503);
    const t = await createTestApp(undefined, {
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      WEBHOOK_RETRY_BASE_SECONDS: '0.05',
      WEBHOOK_RETRY_MAX_SECONDS: '0.1',
      WEBHOOK_DEAD_AFTER_HOURS: '0.0003', // about a second
      WEBHOOK_POLL_MS: '60000',
    });
    try {
      const { token } = await t.createUser('dead-letters@example.com');
      const ws = await createWorkspace(t, token, { environments: ['Production'] });
      const hook = ok(
        await t.gql<{ createEnvironmentWebhook: { id: string } }>(
          'mutation($e: ID!, $u: String!) { createEnvironmentWebhook(input: { environmentId: $e, url: $u }) { id } }',
          { e: ws.environments.Production, u: receiver.url('/down') },
          { token },
        ),
      ).createEnvironmentWebhook.id;
      const sent = ok(
        await t.gql<{ sendTestWebhookEvent: { id: string } }>(
          'mutation($w: ID!) { sendTestWebhookEvent(webhookId: $w) { id } }',
          { w: hook },
          { token },
        ),
      ).sendTestWebhookEvent.id;
      const em = () => t.app.db.orm.em.fork();
      const started = Date.now();
      let row = await em().findOneOrFail(WebhookDelivery, sent);
      while (row.status === DeliveryStatus.PENDING && Date.now() - started < 20_000) {
        await t.app.webhooks.drain();
        await new Promise((r) => setTimeout(r, 50));
        row = await em().findOneOrFail(WebhookDelivery, sent);
      }
      expect(row.status).toBe(DeliveryStatus.DEAD);
      expect(row.attempts).toBeGreaterThan(2);
      expect(row.lastError).toBe('the receiver answered 503');
      expect(receiver.all.length).toBe(row.attempts);
      // Nothing more is tried once it is dead.
      await t.app.webhooks.drain();
      expect(receiver.all.length).toBe(row.attempts);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});
