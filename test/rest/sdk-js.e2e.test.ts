import type { IFlagsmith, IInitConfig, IRetrieveInfo } from 'flagsmith';
import { createFlagsmithInstance } from 'flagsmith/isomorphic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDay } from '../../src/usage/usage-recorder';
import type { Workspace } from '../support/fixtures';
import {
  adminWorkspace,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * The published Flagsmith JS client (flagsmith@10.0.0, its isomorphic build, which uses the
 * global fetch) driven from Node against a running Flagward: environment flags with typed
 * values, identify with traits matching a segment override, traits written with
 * setTrait/setTraits, flag analytics posted and counted, and a GraphQL change reaching it.
 * Realtime needs a browser (the SDK only opens its stream when `window` exists): see
 * sdk-js-browser.e2e.test.ts.
 */

/** One request the SDK made, as it went over the wire. */
interface SdkRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly status: number;
}

interface StoredTrait {
  key: string;
  value: unknown;
  valueType: string;
}

/** An in-memory stand-in for the browser's localStorage, which the SDK keeps analytics in. */
const memoryStorage = () => {
  const items = new Map<string, string>();
  return {
    getItemSync: (key: string) => items.get(key) ?? null,
    getItem: async (key: string, cb?: (err: Error | null, res: string | null) => void) => {
      const value = items.get(key) ?? null;
      cb?.(null, value);
      return value;
    },
    setItem: async (key: string, value: string) => {
      items.set(key, value);
      return value;
    },
  };
};

describe('flagsmith (JS client) 10.0.0 against the REST shim', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: string;
  let clientKey: string;
  const featureIds: Record<string, string> = {};
  const requests: SdkRequest[] = [];
  const today = utcDay(new Date());

  let gql: Gql;
  let sdk: WorkspaceHelpers;

  /** The SDK's fetch: the global one, recording what was sent and how it was answered. */
  const recordingFetch = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(url, init);
    const { pathname, search } = new URL(url);
    requests.push({
      method: init.method ?? 'GET',
      path: pathname + search,
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      status: res.status,
    });
    return res;
  };
  /** Requests made from now on. */
  const mark = () => {
    const from = requests.length;
    return () => requests.slice(from).map((r) => `${r.method} ${r.path} ${r.status}`);
  };

  async function client(config: Partial<IInitConfig> = {}): Promise<IFlagsmith> {
    const flagsmith = createFlagsmithInstance();
    await flagsmith.init({
      environmentID: clientKey,
      api: `${t.url}/api/v1/`,
      fetch: recordingFetch,
      ...config,
    });
    return flagsmith;
  }

  /** The traits Flagward stored for an identity, read through GraphQL, by key. */
  async function storedTraits(identifier: string): Promise<Record<string, StoredTrait>> {
    const res = await gql<{
      identities: { nodes: { identifier: string; traits: StoredTrait[] }[] };
    }>(
      'query($e: ID!, $s: String) { identities(environmentId: $e, filter: { search: $s }) { nodes { identifier traits { key value valueType } } } }',
      { e: envId, s: identifier },
    );
    const identity = res.identities.nodes.find((i) => i.identifier === identifier);
    if (!identity) throw new Error(`identity ${identifier} not stored`);
    return Object.fromEntries(identity.traits.map((tr) => [tr.key, tr]));
  }

  let proOverrideId: string;

  beforeAll(async () => {
    ({ t, ws, envId, clientKey, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, envId, featureIds);

    await sdk.createFeature({ name: 'banner', initialValue: 'Welcome', defaultEnabled: true });
    await sdk.createFeature({ name: 'max_items', initialValue: '25', defaultEnabled: true });
    await sdk.createFeature({ name: 'show_promo', initialValue: 'true', defaultEnabled: true });
    await sdk.createFeature({ name: 'dark_mode', initialValue: 'false', defaultEnabled: false });
    await sdk.createFeature({
      name: 'theme',
      initialValue: '{"color":"blue"}',
      defaultEnabled: true,
    });
    await sdk.createFeature({ name: 'secret_sauce', initialValue: 'x', isServerKeyOnly: true });

    const segmentId = await sdk.createSegment('pro users', [
      { type: 'ALL', conditions: [{ property: 'plan', operator: 'EQUAL', value: 'pro' }] },
    ]);
    proOverrideId = await sdk.createSegmentOverride(segmentId, 'max_items', {
      enabled: true,
      value: 500,
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('inits with a client key and serves typed environment flags', async () => {
    const since = mark();
    const changes: IRetrieveInfo[] = [];
    const flagsmith = await client({ onChange: (_old, info) => changes.push(info) });

    expect(since()).toEqual(['GET /api/v1/flags/ 200']);
    const sent = requests.at(-1)!.headers;
    expect(sent['X-Environment-Key']).toBe(clientKey);
    expect(sent['Flagsmith-SDK-User-Agent']).toBe('flagsmith-js-sdk/10.0.0');
    expect(flagsmith.loadingState).toMatchObject({ isLoading: false, source: 'SERVER' });
    expect(changes).toHaveLength(1);
    expect(changes[0]!.isFromServer).toBe(true);
    expect(changes[0]!.flagsChanged?.sort()).toEqual(
      ['banner', 'dark_mode', 'max_items', 'show_promo', 'theme'].sort(),
    );

    expect(flagsmith.hasFeature('banner')).toBe(true);
    expect(flagsmith.getValue('banner')).toBe('Welcome');
    expect(flagsmith.getValue('max_items')).toBe(25);
    expect(flagsmith.hasFeature('show_promo')).toBe(true);
    expect(flagsmith.getValue('show_promo')).toBe(true);
    expect(flagsmith.hasFeature('dark_mode')).toBe(false);
    expect(flagsmith.getValue('dark_mode')).toBe(false);
    expect(flagsmith.getValue('theme', { json: true })).toEqual({ color: 'blue' });
    // Not served to client keys, and unknown names fall back.
    expect(flagsmith.hasFeature('secret_sauce')).toBe(false);
    expect(flagsmith.getValue('secret_sauce')).toBeNull();
    expect(flagsmith.getValue('nope', { fallback: 'fallback' })).toBe('fallback');
    expect(flagsmith.hasFeature('nope', { fallback: true })).toBe(true);
    expect(Object.keys(flagsmith.getAllFlags()).sort()).toEqual(
      ['banner', 'dark_mode', 'max_items', 'show_promo', 'theme'].sort(),
    );
    expect(flagsmith.getAllFlags().banner).toEqual({
      id: Number(featureIds.banner),
      enabled: true,
      value: 'Welcome',
    });
  });

  it('rejects init with an unknown key', async () => {
    const since = mark();
    const errors: Error[] = [];
    await expect(
      client({ environmentID: 'no-such-key', onError: (e) => errors.push(e) }),
    ).rejects.toThrow();
    expect(since()).toEqual(['GET /api/v1/flags/ 403']);
    expect(errors).toHaveLength(1);
  });

  it('identifies with traits that match a segment override', async () => {
    const flagsmith = await client();
    expect(flagsmith.getValue('max_items')).toBe(25);

    let since = mark();
    await flagsmith.identify('ann', { plan: 'pro', age: 30 });
    expect(since()).toEqual(['POST /api/v1/identities/ 200']);
    expect(requests.at(-1)!.body).toMatchObject({
      identifier: 'ann',
      traits: [
        { trait_key: 'plan', trait_value: 'pro' },
        { trait_key: 'age', trait_value: 30 },
      ],
    });
    expect(flagsmith.identity).toBe('ann');
    expect(flagsmith.getValue('max_items')).toBe(500);
    expect(flagsmith.getValue('banner')).toBe('Welcome');
    expect(flagsmith.getAllTraits()).toEqual({ plan: 'pro', age: 30 });

    since = mark();
    await flagsmith.identify('bob', { plan: 'free' });
    expect(since()).toEqual(['POST /api/v1/identities/ 200']);
    expect(flagsmith.getValue('max_items')).toBe(25);
    expect(flagsmith.getAllTraits()).toEqual({ plan: 'free' });

    // A later session names only the identifier: its stored traits still select the segment.
    since = mark();
    const again = await client({ identity: 'ann' });
    expect(since()).toEqual(['GET /api/v1/identities/?identifier=ann 200']);
    expect(again.getValue('max_items')).toBe(500);
    expect(again.getTrait('plan')).toBe('pro');
    expect(again.getTrait('age')).toBe(30);

    await flagsmith.logout();
    expect(flagsmith.getValue('max_items')).toBe(25);
  });

  it('stores traits set with setTrait and setTraits', async () => {
    const flagsmith = await client({ identity: 'carol' });
    expect(flagsmith.getValue('max_items')).toBe(25);
    expect(await storedTraits('carol')).toEqual({});

    await flagsmith.setTrait('plan', 'pro');
    expect(flagsmith.getValue('max_items')).toBe(500);
    expect(await storedTraits('carol')).toEqual({
      plan: { key: 'plan', value: 'pro', valueType: 'STRING' },
    });

    await flagsmith.setTraits({ age: 41, beta: true, score: 2.5 });
    expect(await storedTraits('carol')).toEqual({
      plan: { key: 'plan', value: 'pro', valueType: 'STRING' },
      age: { key: 'age', value: 41, valueType: 'INT' },
      beta: { key: 'beta', value: true, valueType: 'BOOL' },
      score: { key: 'score', value: 2.5, valueType: 'FLOAT' },
    });
    expect(flagsmith.getAllTraits()).toEqual({ plan: 'pro', age: 41, beta: true, score: 2.5 });

    // A null value deletes the trait, and with it the segment match.
    await flagsmith.setTrait('plan', null);
    expect(flagsmith.getValue('max_items')).toBe(25);
    expect(Object.keys(await storedTraits('carol')).sort()).toEqual(['age', 'beta', 'score']);

    // A new session reads what was stored.
    const later = await client({ identity: 'carol' });
    expect(later.getAllTraits()).toEqual({ age: 41, beta: true, score: 2.5 });
  });

  it('posts flag analytics, which are counted', async () => {
    const USAGE = `query($e: ID!, $d: Date!) {
      featureEvaluations(environmentId: $e, from: $d, to: $d) { featureName count }
      environmentUsage(environmentId: $e, from: $d, to: $d) { kind count } }`;
    const counts = async () => {
      await t.app.usage.flush();
      const res = await gql<{
        featureEvaluations: { featureName: string; count: number }[];
        environmentUsage: { kind: string; count: number }[];
      }>(USAGE, { e: envId, d: today });
      return {
        evaluations: Object.fromEntries(
          res.featureEvaluations.map((r) => [r.featureName, r.count]),
        ),
        usage: Object.fromEntries(res.environmentUsage.map((r) => [r.kind, r.count])),
      };
    };
    expect((await counts()).evaluations).toEqual({});

    const flagsmith = await client({ enableAnalytics: true, AsyncStorage: memoryStorage() });
    // In a browser the SDK loads its pending events from storage and posts them every 10 s.
    // Without `window` (Node) it skips both: start it with an empty event map, and post as
    // its timer would, by calling the method the timer calls.
    flagsmith.setState({ ...flagsmith.getState(), evaluationEvent: {} });
    const post = () =>
      (flagsmith as unknown as { analyticsFlags(): Promise<void> | undefined }).analyticsFlags();

    for (let i = 0; i < 3; i++) flagsmith.hasFeature('banner');
    flagsmith.getValue('banner');
    flagsmith.getValue('max_items');
    flagsmith.getValue('max_items');
    flagsmith.getValue('dark_mode', { skipAnalytics: true });
    flagsmith.hasFeature('no_such_flag');

    const since = mark();
    await post();
    expect(since()).toEqual(['POST /api/v1/analytics/flags/ 200']);
    expect(requests.at(-1)!.body).toEqual({ banner: 4, max_items: 2, no_such_flag: 1 });
    // Nothing pending: nothing posted.
    await post();
    expect(since()).toHaveLength(1);

    const first = await counts();
    // Unknown names are dropped when counted.
    expect(first.evaluations).toEqual({ banner: 4, max_items: 2 });
    // Every SDK call this file made so far was counted as API usage.
    const served = (prefix: string) =>
      requests.filter((r) => r.path.startsWith(prefix) && r.status === 200).length;
    expect(first.usage).toEqual({
      FLAGS: served('/api/v1/flags/'),
      IDENTITIES: served('/api/v1/identities/'),
    });

    flagsmith.hasFeature('banner');
    flagsmith.getValue('show_promo');
    await post();
    expect(requests.at(-1)!.body).toEqual({ banner: 1, show_promo: 1 });
    expect((await counts()).evaluations).toEqual({ banner: 5, max_items: 2, show_promo: 1 });
  });

  it('picks up changes made through GraphQL on its next fetch', async () => {
    const changes: IRetrieveInfo[] = [];
    const flagsmith = await client({ onChange: (_old, info) => changes.push(info) });
    const pro = await client({ identity: 'ann' });
    expect(flagsmith.getValue('banner')).toBe('Welcome');
    expect(flagsmith.hasFeature('dark_mode')).toBe(false);
    expect(pro.getValue('max_items')).toBe(500);

    await sdk.updateState(await sdk.defaultStateId('banner'), { value: 'Hello again' });
    await sdk.updateState(await sdk.defaultStateId('dark_mode'), { enabled: true, value: true });
    await gql(
      'mutation($id: ID!) { updateSegmentOverride(id: $id, input: { value: 750 }) { id } }',
      { id: proOverrideId },
    );

    // Held until the client fetches again.
    expect(flagsmith.getValue('banner')).toBe('Welcome');
    await flagsmith.getFlags();
    expect(flagsmith.getValue('banner')).toBe('Hello again');
    expect(flagsmith.hasFeature('dark_mode')).toBe(true);
    expect(flagsmith.getValue('dark_mode')).toBe(true);
    expect(flagsmith.getValue('max_items')).toBe(25);
    expect(changes.at(-1)!.flagsChanged?.sort()).toEqual(['banner', 'dark_mode']);

    await pro.getFlags();
    expect(pro.getValue('max_items')).toBe(750);
    expect(pro.getValue('banner')).toBe('Hello again');
    expect(pro.hasFeature('dark_mode')).toBe(true);
  });
});
