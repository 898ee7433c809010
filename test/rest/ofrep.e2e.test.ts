import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, type Client } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../support/fixtures';
import {
  adminWorkspace,
  createServerSideKey,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * OFREP (src/rest/ofrep.ts) through the published OpenFeature packages:
 * @openfeature/server-sdk 1.23.0 + @openfeature/ofrep-provider 0.1.3 (single-flag
 * evaluation) and @openfeature/web-sdk 1.10.0 + @openfeature/ofrep-web-provider 0.4.3 (bulk
 * evaluation, run on Node's fetch), plus the wire rules the providers do not exercise, and
 * a comparison with `POST /api/v1/identities/` for transient identities.
 */

interface OfrepFlag {
  key: string;
  value: unknown;
  reason: string;
  variant?: string;
  metadata: { featureId: number; enabled: boolean };
}

interface IdentityFlag {
  feature: { name: string };
  feature_state_value: unknown;
  enabled: boolean;
  variant: string | null;
}

const PLANS = ['free', 'pro', 'enterprise'] as const;

describe('OFREP against the OpenFeature providers', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: string;
  let clientKey: string;
  let serverKey: string;
  let server: Client;
  const featureIds: Record<string, string> = {};
  let gql: Gql;
  let sdk: WorkspaceHelpers;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': clientKey, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const bulk = async (context: Record<string, unknown>): Promise<OfrepFlag[]> => {
    const res = await post('/ofrep/v1/evaluate/flags', { context });
    expect(res.status).toBe(200);
    return ((await res.json()) as { flags: OfrepFlag[] }).flags;
  };

  beforeAll(async () => {
    ({ t, ws, envId, clientKey, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, envId, featureIds);
    serverKey = await createServerSideKey(gql, envId);

    await sdk.createFeature({ name: 'new_checkout', defaultEnabled: true });
    await sdk.createFeature({ name: 'kill_switch', defaultEnabled: false });
    await sdk.createFeature({ name: 'banner', initialValue: 'Welcome', defaultEnabled: true });
    await sdk.createFeature({ name: 'max_items', initialValue: '25', defaultEnabled: true });
    await sdk.createFeature({ name: 'ratio', initialValue: '5', defaultEnabled: true });
    await sdk.createFeature({
      name: 'theme',
      initialValue: '{"color":"blue","size":3}',
      defaultEnabled: true,
    });
    await sdk.createFeature({ name: 'legacy_text', initialValue: 'old', defaultEnabled: false });
    await sdk.createFeature({
      name: 'pricing',
      initialValue: 'control',
      defaultEnabled: true,
      multivariateOptions: [
        { key: 'annual', value: 'annual', defaultPercentageAllocation: 30 },
        { key: 'monthly', value: 'monthly', defaultPercentageAllocation: 30 },
      ],
    });
    await sdk.segmentOverride(
      'pro users',
      [{ type: 'ALL', conditions: [{ property: 'plan', operator: 'EQUAL', value: 'pro' }] }],
      'max_items',
      { enabled: true, value: 500 },
    );
    await sdk.segmentOverride(
      'adults',
      [
        {
          type: 'ALL',
          conditions: [{ property: 'age', operator: 'GREATER_THAN_INCLUSIVE', value: '18' }],
        },
      ],
      'kill_switch',
      { enabled: true, value: null },
    );
    await sdk.segmentOverride(
      'half',
      [{ type: 'ALL', conditions: [{ operator: 'PERCENTAGE_SPLIT', value: '50' }] }],
      'banner',
      { enabled: true, value: 'Split!' },
    );
    await sdk.segmentOverride(
      'beta testers',
      [
        {
          type: 'ALL',
          conditions: [
            { property: 'beta', operator: 'EQUAL', value: 'true' },
            { property: 'plan', operator: 'IN', value: 'pro,enterprise' },
          ],
        },
      ],
      'theme',
      { enabled: true, value: '{"color":"green","size":4}' },
    );

    await OpenFeature.setProviderAndWait(
      'ofrep',
      new OFREPProvider({ baseUrl: t.url, headers: [['X-API-Key', clientKey]] }),
    );
    server = OpenFeature.getClient('ofrep');
  });

  afterAll(async () => {
    await OpenFeature.close();
    await WebOpenFeature.close();
    await t?.close();
  });

  describe('server provider (single-flag evaluation)', () => {
    it('answers booleans: enabled state for flags without a value, DISABLED when off', async () => {
      const on = await server.getBooleanDetails('new_checkout', false, { targetingKey: 'u1' });
      expect(on).toMatchObject({ value: true, reason: 'DEFAULT' });
      expect(on.errorCode).toBeUndefined();
      const off = await server.getBooleanDetails('kill_switch', true, { targetingKey: 'u1' });
      expect(off).toMatchObject({ value: false, reason: 'DISABLED' });
      expect(off.flagMetadata).toMatchObject({ enabled: false });
      const adult = await server.getBooleanDetails('kill_switch', false, {
        targetingKey: 'u1',
        age: 30,
      });
      expect(adult).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    });

    it('answers strings, numbers and JSON objects, targeted by segment', async () => {
      expect(await server.getStringValue('legacy_text', '', { targetingKey: 'u2' })).toBe('old');
      expect(
        (await server.getStringDetails('legacy_text', '', { targetingKey: 'u2' })).reason,
      ).toBe('DISABLED');
      const free = await server.getNumberDetails('max_items', 0, {
        targetingKey: 'u2',
        plan: 'free',
      });
      expect(free).toMatchObject({ value: 25, reason: 'DEFAULT' });
      const pro = await server.getNumberDetails('max_items', 0, {
        targetingKey: 'u2',
        plan: 'pro',
      });
      expect(pro).toMatchObject({ value: 500, reason: 'TARGETING_MATCH' });
      expect(await server.getNumberValue('ratio', 0, { targetingKey: 'u2' })).toBe(5);
      expect(await server.getObjectValue('theme', {}, { targetingKey: 'u2' })).toEqual({
        color: 'blue',
        size: 3,
      });
      const beta = await server.getObjectDetails(
        'theme',
        {},
        { targetingKey: 'u2', plan: 'pro', beta: true },
      );
      expect(beta).toMatchObject({
        value: { color: 'green', size: 4 },
        reason: 'TARGETING_MATCH',
      });
    });

    it('splits by targeting key, stably', async () => {
      const seen = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const targetingKey = `split-${i}`;
        const a = await server.getStringDetails('pricing', '', { targetingKey });
        const b = await server.getStringDetails('pricing', '', { targetingKey, plan: 'pro' });
        expect(b.value, targetingKey).toBe(a.value);
        expect(b.variant).toBe(a.variant);
        if (a.value === 'control')
          expect(a).toMatchObject({ reason: 'DEFAULT', variant: 'control' });
        else expect(a).toMatchObject({ reason: 'SPLIT', variant: a.value });
        seen.set(a.value, (seen.get(a.value) ?? 0) + 1);
      }
      expect(new Set(seen.keys())).toEqual(new Set(['annual', 'monthly', 'control']));
    });

    it('evaluates the environment without a targeting key: STATIC', async () => {
      const details = await server.getStringDetails('banner', '', {});
      expect(details).toMatchObject({ value: 'Welcome', reason: 'STATIC' });
      const pricing = await server.getStringDetails('pricing', '', {});
      expect(pricing).toMatchObject({ value: 'control', reason: 'STATIC' });
      expect(pricing.variant).toBeUndefined();
    });

    it('reports unknown flags, wrong types and a missing targeting key as OpenFeature errors', async () => {
      const missing = await server.getBooleanDetails('no_such_flag', true, { targetingKey: 'x' });
      expect(missing).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND', reason: 'ERROR' });
      const mismatch = await server.getNumberDetails('banner', 7, { targetingKey: 'x' });
      expect(mismatch).toMatchObject({ value: 7, errorCode: 'TYPE_MISMATCH', reason: 'ERROR' });
      const noKey = await server.getNumberDetails('max_items', 7, { plan: 'pro' });
      expect(noKey).toMatchObject({ value: 7, errorCode: 'TARGETING_KEY_MISSING' });
    });

    it('accepts the key as Bearer token, X-Environment-Key, and server keys', async () => {
      for (const headers of [
        [['Authorization', `Bearer ${clientKey}`]],
        [['X-Environment-Key', clientKey]],
        [['X-API-Key', serverKey]],
        [['Authorization', `Bearer ${serverKey}`]],
      ] as [string, string][][]) {
        const domain = `auth-${headers[0]![0]}-${headers[0]![1].slice(0, 4)}`;
        await OpenFeature.setProviderAndWait(
          domain,
          new OFREPProvider({ baseUrl: t.url, headers }),
        );
        const value = await OpenFeature.getClient(domain).getNumberValue('max_items', 0, {
          targetingKey: 'k',
          plan: 'pro',
        });
        expect(value, JSON.stringify(headers)).toBe(500);
      }
      await OpenFeature.setProviderAndWait(
        'bad-key',
        new OFREPProvider({ baseUrl: t.url, headers: [['X-API-Key', 'nope']] }),
      );
      const refused = await OpenFeature.getClient('bad-key').getNumberDetails('max_items', 3, {
        targetingKey: 'k',
      });
      expect(refused.value).toBe(3);
      expect(refused.errorCode).toBeDefined();
    });
  });

  describe('web provider (bulk evaluation)', () => {
    it('evaluates every flag for the context and follows context changes', async () => {
      const provider = new OFREPWebProvider({
        baseUrl: t.url,
        headers: [['X-API-Key', clientKey]],
        cacheMode: 'disabled',
        pollInterval: 0,
        changeDetection: 'none',
        disableVisibilityRefresh: true,
      });
      await WebOpenFeature.setProviderAndWait('web', provider, {
        targetingKey: 'web-user',
        plan: 'pro',
        age: 20,
      });
      const client = WebOpenFeature.getClient('web');
      expect(client.getBooleanValue('new_checkout', false)).toBe(true);
      expect(client.getBooleanDetails('kill_switch', false)).toMatchObject({
        value: true,
        reason: 'TARGETING_MATCH',
      });
      expect(client.getNumberValue('max_items', 0)).toBe(500);
      expect(client.getStringValue('legacy_text', '')).toBe('old');
      expect(client.getObjectValue('theme', {})).toEqual({ color: 'blue', size: 3 });
      const pricing = client.getStringDetails('pricing', '');
      expect(['annual', 'monthly', 'control']).toContain(pricing.value);
      expect(pricing.variant).toBe(pricing.value);
      expect(client.getBooleanDetails('no_such_flag', true)).toMatchObject({
        value: true,
        errorCode: 'FLAG_NOT_FOUND',
      });
      expect(client.getNumberDetails('banner', 1)).toMatchObject({
        value: 1,
        errorCode: 'TYPE_MISMATCH',
      });

      await WebOpenFeature.setContext('web', { targetingKey: 'web-user', plan: 'free', age: 9 });
      expect(client.getNumberValue('max_items', 0)).toBe(25);
      expect(client.getBooleanDetails('kill_switch', true)).toMatchObject({
        value: false,
        reason: 'DISABLED',
      });
      // The split is the same for the same targeting key.
      expect(client.getStringValue('pricing', '')).toBe(pricing.value);
    });
  });

  describe('the wire', () => {
    it('answers 304 to If-None-Match with the current ETag, and 200 after a change', async () => {
      const context = { targetingKey: 'etag-user', plan: 'pro' };
      const first = await post('/ofrep/v1/evaluate/flags', { context });
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect(first.headers.get('access-control-expose-headers')).toContain('ETag');
      const again = await post('/ofrep/v1/evaluate/flags', { context }, { 'if-none-match': etag! });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      const weak = await post(
        '/ofrep/v1/evaluate/flags',
        { context },
        { 'if-none-match': `"x", W/${etag!}` },
      );
      expect(weak.status).toBe(304);
      const other = await post(
        '/ofrep/v1/evaluate/flags',
        { context: { ...context, plan: 'free' } },
        { 'if-none-match': etag! },
      );
      expect(other.status).toBe(200);
      expect(other.headers.get('etag')).not.toBe(etag);

      const baseId = await sdk.defaultStateId('ratio');
      await gql(
        'mutation($id: ID!) { updateFeatureState(id: $id, input: { value: 7, enabled: true }) { id } }',
        { id: baseId },
      );
      const changed = await post(
        '/ofrep/v1/evaluate/flags',
        { context },
        { 'if-none-match': etag! },
      );
      expect(changed.status).toBe(200);
      const flags = ((await changed.json()) as { flags: OfrepFlag[] }).flags;
      expect(flags.find((f) => f.key === 'ratio')?.value).toBe(7);
    });

    it('answers bad input with OFREP error bodies, never a 500', async () => {
      const single = '/ofrep/v1/evaluate/flags/banner';
      const cases: [string, string | unknown, number, Record<string, unknown>][] = [
        [single, '{"context": ', 400, { key: 'banner', errorCode: 'PARSE_ERROR' }],
        ['/ofrep/v1/evaluate/flags', '{oops', 400, { errorCode: 'PARSE_ERROR' }],
        [single, [1, 2], 400, { key: 'banner', errorCode: 'PARSE_ERROR' }],
        [single, { context: 'x' }, 400, { errorCode: 'INVALID_CONTEXT' }],
        [single, { context: { targetingKey: 42 } }, 400, { errorCode: 'INVALID_CONTEXT' }],
        [
          single,
          { context: { targetingKey: 'a', plan: 'x'.repeat(3000) } },
          400,
          { errorCode: 'INVALID_CONTEXT' },
        ],
        [
          '/ofrep/v1/evaluate/flags',
          { context: { plan: 'pro' } },
          400,
          { errorCode: 'TARGETING_KEY_MISSING' },
        ],
        [
          '/ofrep/v1/evaluate/flags/%E0%A4%A',
          {},
          404,
          { key: '%E0%A4%A', errorCode: 'FLAG_NOT_FOUND' },
        ],
        [
          '/ofrep/v1/evaluate/flags/__proto__',
          {},
          404,
          { key: '__proto__', errorCode: 'FLAG_NOT_FOUND' },
        ],
        ['/ofrep/v1/evaluate/flags/', {}, 404, { key: '', errorCode: 'FLAG_NOT_FOUND' }],
      ];
      for (const [path, body, status, shape] of cases) {
        const res = await post(path, body);
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(status);
        expect(await res.json()).toMatchObject({ ...shape, errorDetails: expect.any(String) });
      }
      // Nested values are traits as `/identities/` takes them, not errors.
      const nested = await post(single, { context: { targetingKey: 'n', a: { b: [1] } } });
      expect(nested.status).toBe(200);
      const text = await fetch(`${t.url}${single}`, {
        method: 'POST',
        headers: { 'x-api-key': clientKey, 'content-type': 'text/plain' },
        body: 'hi',
      });
      expect(text.status).toBe(415);
      expect(await text.json()).toMatchObject({ key: 'banner', errorCode: 'PARSE_ERROR' });
      const get = await fetch(`${t.url}${single}`, { headers: { 'x-api-key': clientKey } });
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST, OPTIONS');
      const noKey = await post(single, {}, { 'x-api-key': '' });
      expect(noKey.status).toBe(401);
      expect(await noKey.json()).toMatchObject({ key: 'banner', errorCode: 'GENERAL' });
      const preflight = await fetch(`${t.url}/ofrep/v1/evaluate/flags`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-api-key, authorization, if-none-match',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'if-none-match',
      );
    });
  });

  describe('agrees with POST /api/v1/identities/', () => {
    it('gives the same enabled, value and variant for 50 transient contexts', async () => {
      let seed = 12345;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const reasons = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const identifier = `cmp-${Math.floor(random() * 1e9).toString(36)}-${i}`;
        const traits: Record<string, string | number | boolean> = {
          plan: PLANS[Math.floor(random() * 3)]!,
          age: 10 + Math.floor(random() * 50),
        };
        if (random() < 0.7) traits.beta = random() < 0.5;
        if (random() < 0.3) traits.score = Math.round(random() * 1000) / 10;
        const ofrep = await bulk({ targetingKey: identifier, ...traits });
        const res = await fetch(`${t.url}/api/v1/identities/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-environment-key': clientKey },
          body: JSON.stringify({
            identifier,
            transient: true,
            traits: Object.entries(traits).map(([trait_key, trait_value]) => ({
              trait_key,
              trait_value,
            })),
          }),
        });
        expect(res.status).toBe(200);
        const identity = ((await res.json()) as { flags: IdentityFlag[] }).flags;
        const theirs = identity.map((f) => ({
          key: f.feature.name,
          enabled: f.enabled,
          value:
            f.feature_state_value === null
              ? f.enabled
              : typeof f.feature_state_value === 'string' && f.feature_state_value.startsWith('{')
                ? (JSON.parse(f.feature_state_value) as unknown)
                : f.feature_state_value,
          variant: f.variant ?? undefined,
        }));
        const ours = ofrep.map((f) => ({
          key: f.key,
          enabled: f.metadata.enabled,
          value: f.value,
          variant: f.variant,
        }));
        expect(ours, JSON.stringify({ identifier, traits })).toEqual(theirs);
        for (const f of ofrep) reasons.add(f.reason);
      }
      // The sample went through segments, splits, defaults and disabled flags.
      expect(reasons).toEqual(new Set(['DEFAULT', 'TARGETING_MATCH', 'SPLIT', 'DISABLED']));
    });
  });
});
