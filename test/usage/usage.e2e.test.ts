import { Flagsmith } from 'flagsmith-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUsage, FeatureEvaluation } from '../../src/usage/api-usage.entity';
import { utcDay } from '../../src/usage/usage-recorder';
import { codeOf, createWorkspace, ok, type Workspace } from '../support/fixtures';
import { createTestStorage } from '../support/database';
import {
  adminWorkspace,
  createServerSideKey,
  type Gql,
  workspaceHelpers,
} from '../support/sdk-workspace';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * SDK usage counting and flag analytics through HTTP: counts are buffered in memory (nothing
 * is written per request), written by a flush, and read back through GraphQL.
 */

const USAGE = `query($e: ID!, $from: Date!, $to: Date!) {
  environmentUsage(environmentId: $e, from: $from, to: $to) { day kind count } }`;
const EVALUATIONS = `query($e: ID!, $from: Date!, $to: Date!) {
  featureEvaluations(environmentId: $e, from: $from, to: $to) { day featureName count } }`;

interface UsageRows {
  environmentUsage: { day: string; kind: string; count: number }[];
}
interface EvaluationRows {
  featureEvaluations: { day: string; featureName: string; count: number }[];
}

describe('usage and flag analytics', () => {
  let t: TestApp;
  let token: string;
  let ws: Workspace;
  let envId: string;
  let clientKey: string;
  let serverKey: string;
  let gql: Gql;
  const today = utcDay(new Date());

  const api = (path: string, key: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('X-Environment-Key', key);
    return fetch(`${t.url}/api/${path}`, { ...init, headers });
  };
  const post = (path: string, body: unknown, key = clientKey) =>
    api(path, key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const usage = async () =>
    (await gql<UsageRows>(USAGE, { e: envId, from: today, to: today })).environmentUsage;
  const evaluations = async () =>
    (await gql<EvaluationRows>(EVALUATIONS, { e: envId, from: today, to: today }))
      .featureEvaluations;
  const byKind = (rows: UsageRows['environmentUsage']) =>
    Object.fromEntries(rows.map((r) => [r.kind, r.count]));
  const byFeature = (rows: EvaluationRows['featureEvaluations']) =>
    Object.fromEntries(rows.map((r) => [r.featureName, r.count]));
  const rowsInDb = async () => {
    const em = t.app.db.orm.em.fork();
    return {
      usage: await em.count(ApiUsage, {}),
      evaluations: await em.count(FeatureEvaluation, {}),
    };
  };

  beforeAll(async () => {
    ({ t, token, ws, envId, clientKey, gql } = await adminWorkspace());
    serverKey = await createServerSideKey(gql, envId);
    const sdk = workspaceHelpers(gql, ws, envId);
    for (const name of ['banner', 'max_items']) {
      await sdk.createFeature({ name, initialValue: '1', defaultEnabled: true });
    }
  });

  afterAll(async () => {
    await t?.close();
  });

  it('counts SDK requests per kind in memory, writing them only on flush', async () => {
    for (let i = 0; i < 3; i++) expect((await api('v1/flags/', clientKey)).status).toBe(200);
    expect((await api('v1/identities/?identifier=ann', clientKey)).status).toBe(200);
    expect((await post('v1/identities/', { identifier: 'bob', traits: [] })).status).toBe(200);
    expect((await api('v1/environment-document/', serverKey)).status).toBe(200);
    // Refused keys are not counted.
    expect((await api('v1/flags/', 'nope')).status).toBe(403);
    expect((await api('v1/environment-document/', clientKey)).status).toBe(403);

    expect(await rowsInDb()).toEqual({ usage: 0, evaluations: 0 });
    expect(await usage()).toEqual([]);

    await t.app.usage.flush();
    expect(await usage()).toEqual([
      { day: today, kind: 'FLAGS', count: 3 },
      { day: today, kind: 'IDENTITIES', count: 2 },
      { day: today, kind: 'ENVIRONMENT_DOCUMENT', count: 1 },
    ]);

    // Later counts add to the stored ones.
    await api('v1/flags/', serverKey);
    await t.app.usage.flush();
    await t.app.usage.flush();
    expect(byKind(await usage())).toEqual({ ENVIRONMENT_DOCUMENT: 1, FLAGS: 4, IDENTITIES: 2 });
  });

  it('counts analytics v1 and v2, dropping unknown names and non-integer counts', async () => {
    const v1 = await post('v1/analytics/flags/', {
      banner: 5,
      max_items: 2,
      no_such_feature: 7,
      BANNER: 1,
      text: 'x',
      fraction: 1.5,
    });
    expect(v1.status).toBe(200);
    expect(await v1.text()).toBe('');
    const v2 = await post('v2/analytics/flags/', {
      evaluations: [
        {
          feature_name: 'banner',
          identity_identifier: 'ann',
          enabled_when_evaluated: true,
          count: 3,
        },
        { feature_name: 'max_items', enabled_when_evaluated: false, count: 1 },
        {
          feature_name: 'ghost',
          identity_identifier: null,
          enabled_when_evaluated: true,
          count: 9,
        },
      ],
    });
    expect(v2.status).toBe(204);
    expect(await v2.text()).toBe('');

    expect((await rowsInDb()).evaluations).toBe(0);
    await t.app.usage.flush();
    expect(await evaluations()).toEqual([
      { day: today, featureName: 'banner', count: 8 },
      { day: today, featureName: 'max_items', count: 3 },
    ]);
    // Analytics posts are not SDK usage.
    expect(byKind(await usage())).toEqual({ ENVIRONMENT_DOCUMENT: 1, FLAGS: 4, IDENTITIES: 2 });
  });

  it('answers bad analytics bodies with 400 JSON, counting nothing', async () => {
    const cases: [string, unknown, unknown][] = [
      ['v1/analytics/flags/', [1, 2], { non_field_errors: ['Expected a JSON object.'] }],
      ['v1/analytics/flags/', '"banner"', { non_field_errors: ['Expected a JSON object.'] }],
      ['v2/analytics/flags/', {}, { evaluations: ['This field is required.'] }],
      [
        'v2/analytics/flags/',
        [],
        { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
      ],
      [
        'v2/analytics/flags/',
        { evaluations: { banner: 1 } },
        { evaluations: ['Expected a list of items but got type "dict".'] },
      ],
      [
        'v2/analytics/flags/',
        {
          evaluations: [
            { feature_name: 'banner', enabled_when_evaluated: true, count: 1 },
            { feature_name: 5, enabled_when_evaluated: 'yes', count: 'many' },
            'x',
          ],
        },
        {
          evaluations: [
            {},
            {
              feature_name: ['Not a valid string.'],
              enabled_when_evaluated: ['Must be a valid boolean.'],
              count: ['A valid integer is required.'],
            },
            { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] },
          ],
        },
      ],
    ];
    for (const [path, body, errors] of cases) {
      const res = await post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(await res.json()).toEqual(errors);
    }
    for (const path of ['v1/analytics/flags/', 'v2/analytics/flags/']) {
      const res = await post(path, '{"banner": ');
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({
        detail: expect.stringMatching(/^JSON parse error/),
      });
      expect((await post(path, { banner: 1 }, 'nope')).status).toBe(403);
      const get = await api(path, clientKey);
      expect(get.status).toBe(405);
      expect(await get.json()).toEqual({ detail: 'Method "GET" not allowed.' });
    }
    await t.app.usage.flush();
    expect(byFeature(await evaluations())).toEqual({ banner: 8, max_items: 3 });
  });

  it('counts the analytics flagsmith-nodejs posts', async () => {
    const flagsmith = new Flagsmith({
      environmentKey: serverKey,
      apiUrl: `${t.url}/api/v1/`,
      enableAnalytics: true,
      retries: 0,
    });
    const flags = await flagsmith.getEnvironmentFlags();
    expect(flags.isFeatureEnabled('banner')).toBe(true);
    expect(flags.isFeatureEnabled('banner')).toBe(true);
    expect(flags.getFeatureValue('max_items')).toBe(1);
    await (
      flagsmith as unknown as { analyticsProcessor: { flush(): Promise<void> } }
    ).analyticsProcessor.flush();
    await flagsmith.close();
    await t.app.usage.flush();
    expect(byFeature(await evaluations())).toEqual({ banner: 10, max_items: 4 });
    expect(byKind(await usage()).FLAGS).toBe(5);
  });

  it('limits the range to 366 days, naming the field', async () => {
    const res = await t.gql(USAGE, { e: envId, from: '2026-01-01', to: '2027-01-02' }, { token });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('to');
    const backwards = await t.gql(
      EVALUATIONS,
      { e: envId, from: '2026-02-01', to: '2026-01-31' },
      { token },
    );
    expect(codeOf(backwards)).toBe('BAD_USER_INPUT');
    expect(backwards.errors?.[0]?.extensions?.field).toBe('to');
    ok(await t.gql(USAGE, { e: envId, from: '2026-01-01', to: '2027-01-01' }, { token }));
  });

  it('hides usage from outsiders (NOT_FOUND)', async () => {
    const outsider = (await t.createUser('eve@elsewhere.test')).token;
    for (const query of [USAGE, EVALUATIONS]) {
      const res = await t.gql(query, { e: envId, from: today, to: today }, { token: outsider });
      expect(codeOf(res)).toBe('NOT_FOUND');
      expect(res.data).toBeNull();
    }
  });
});

describe('usage on shutdown', () => {
  it('writes the buffered counts when the app closes', async () => {
    const storage = await createTestStorage();
    try {
      const first = await createTestApp(storage);
      const { token } = await first.createUser('admin@acme.test');
      const ws = await createWorkspace(first, token, { environments: ['Production'] });
      const res = await fetch(`${first.url}/api/v1/flags/`, {
        headers: { 'X-Environment-Key': ws.apiKeys.Production! },
      });
      expect(res.status).toBe(200);
      await first.close();

      const second = await createTestApp(storage);
      try {
        const em = second.app.db.orm.em.fork();
        const rows = await em.find(ApiUsage, {});
        expect(rows.map((r) => [r.kind, r.count])).toEqual([['FLAGS', '1']]);
      } finally {
        await second.close();
      }
    } finally {
      await storage.cleanup();
    }
  });
});
