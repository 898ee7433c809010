import { Flagsmith } from 'flagsmith-nodejs';
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
 * The published Flagsmith Node SDK (flagsmith-nodejs@8.1.2) against a running Flagward:
 * remote evaluation with a client key, local evaluation with a server key, and changes
 * made through GraphQL reaching both.
 */

type Traits = Record<string, string | number | boolean>;

describe('flagsmith-nodejs 8.1.2 against the REST shim', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: string;
  let serverKey: string;
  let remote: Flagsmith;
  let local: Flagsmith;
  const featureIds: Record<string, string> = {};
  let gql: Gql;
  let sdk: WorkspaceHelpers;

  const summary = (flags: Awaited<ReturnType<Flagsmith['getEnvironmentFlags']>>) =>
    Object.fromEntries(
      flags.allFlags().map((f) => [f.featureName, { enabled: f.enabled, value: f.value }]),
    );

  beforeAll(async () => {
    ({ t, ws, envId, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, envId, featureIds);
    serverKey = await createServerSideKey(gql, envId);

    await sdk.createFeature({ name: 'banner', initialValue: 'Welcome', defaultEnabled: true });
    await sdk.createFeature({ name: 'max_items', initialValue: '25', defaultEnabled: true });
    await sdk.createFeature({ name: 'dark_mode', initialValue: 'false', defaultEnabled: false });
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
      'dark_mode',
      { enabled: true, value: true },
    );
    await sdk.segmentOverride(
      'half',
      [{ type: 'ALL', conditions: [{ operator: 'PERCENTAGE_SPLIT', value: '50' }] }],
      'banner',
      { enabled: true, value: 'Split!' },
    );
    const vip = await gql<{ createIdentity: { id: string } }>(
      'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
      { i: { environmentId: envId, identifier: 'vip' } },
    );
    await gql(
      'mutation($id: ID!, $f: ID!) { setIdentityOverride(identityId: $id, featureId: $f, input: { enabled: true, value: "just for you" }) { id } }',
      { id: vip.createIdentity.id, f: featureIds.banner },
    );

    const apiUrl = `${t.url}/api/v1/`;
    remote = new Flagsmith({ environmentKey: ws.apiKeys.Production!, apiUrl, retries: 0 });
    local = new Flagsmith({
      environmentKey: serverKey,
      apiUrl,
      enableLocalEvaluation: true,
      environmentRefreshIntervalSeconds: 3600,
      retries: 0,
    });
  });

  afterAll(async () => {
    await local?.close();
    await remote?.close();
    await t?.close();
  });

  it('gets typed environment flags remotely', async () => {
    const flags = await remote.getEnvironmentFlags();
    expect(flags.getFeatureValue('banner')).toBe('Welcome');
    expect(flags.getFeatureValue('max_items')).toBe(25);
    expect(flags.getFeatureValue('dark_mode')).toBe(false);
    expect(flags.isFeatureEnabled('banner')).toBe(true);
    expect(flags.isFeatureEnabled('dark_mode')).toBe(false);
    expect(flags.getFeatureValue('pricing')).toBe('control');
  });

  it('gets identity flags with traits matching segment overrides', async () => {
    const pro = await remote.getIdentityFlags('pro-user', { plan: 'pro', age: 30 });
    expect(pro.getFeatureValue('max_items')).toBe(500);
    expect(pro.isFeatureEnabled('dark_mode')).toBe(true);
    expect(pro.getFeatureValue('dark_mode')).toBe(true);
    const free = await remote.getIdentityFlags('free-user', { plan: 'free', age: 12 });
    expect(free.getFeatureValue('max_items')).toBe(25);
    expect(free.isFeatureEnabled('dark_mode')).toBe(false);
    const vip = await remote.getIdentityFlags('vip', {});
    expect(vip.getFeatureValue('banner')).toBe('just for you');
  });

  it('agrees with local evaluation for 20 identities', async () => {
    const plans = ['free', 'pro', 'enterprise'];
    const people: { identifier: string; traits: Traits }[] = Array.from({ length: 20 }, (_, i) => ({
      identifier: i === 0 ? 'vip' : `person-${i}`,
      traits: { plan: plans[i % 3]!, age: 10 + i * 3 },
    }));
    const banners = new Set<unknown>();
    const pricing = new Set<unknown>();
    for (const { identifier, traits } of people) {
      const ours = summary(await remote.getIdentityFlags(identifier, traits));
      const theirs = summary(await local.getIdentityFlags(identifier, traits));
      expect(ours, identifier).toEqual(theirs);
      banners.add(ours.banner?.value);
      pricing.add(ours.pricing?.value);
    }
    // The sample went through the split, the override and the multivariate options.
    expect(banners).toEqual(new Set(['Welcome', 'Split!', 'just for you']));
    expect(pricing.size).toBeGreaterThanOrEqual(2);
    expect(summary(await remote.getEnvironmentFlags())).toEqual(
      summary(await local.getEnvironmentFlags()),
    );
  });

  it('sees a GraphQL change remotely at once and locally after updateEnvironment()', async () => {
    const baseId = await sdk.defaultStateId('max_items');
    expect((await local.getEnvironmentFlags()).getFeatureValue('max_items')).toBe(25);

    await gql(
      'mutation($id: ID!) { updateFeatureState(id: $id, input: { value: 99, enabled: false }) { id } }',
      { id: baseId },
    );

    const now = await remote.getEnvironmentFlags();
    expect(now.getFeatureValue('max_items')).toBe(99);
    expect(now.isFeatureEnabled('max_items')).toBe(false);
    const free = await remote.getIdentityFlags('free-user', { plan: 'free' });
    expect(free.getFeatureValue('max_items')).toBe(99);

    // The local client keeps its document until it polls again.
    expect((await local.getEnvironmentFlags()).getFeatureValue('max_items')).toBe(25);
    await local.updateEnvironment();
    expect((await local.getEnvironmentFlags()).getFeatureValue('max_items')).toBe(99);
    expect(
      (await local.getIdentityFlags('free-user', { plan: 'free' })).getFeatureValue('max_items'),
    ).toBe(99);
  });
});
