import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Flagsmith, LocalFileHandler } from 'flagsmith-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, mapEnvironmentDocumentToContext } from '../../src/engine';
import type { EnvironmentDocument } from '../../src/environments/document.types';
import type { Workspace } from '../support/fixtures';
import {
  adminWorkspace,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * The document we serve, read by the published Flagsmith Node SDK (8.1.2) in offline local
 * evaluation, gives every identity the same flags as our own engine: 240 generated
 * identities over segments with every kind of condition, percentage splits, multivariate
 * options (defaults and segment overrides) and identity overrides.
 */

type Traits = Record<string, string | number | boolean>;

/** A small seeded generator (mulberry32), so failures can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function identities(count: number): { identifier: string; traits: Traits }[] {
  const next = random(20261123);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const traits: Traits = {};
    if (next() < 0.9) traits.age = Math.floor(next() * 80);
    if (next() < 0.8) traits.plan = pick(['free', 'pro', 'enterprise']);
    if (next() < 0.7) traits.country = pick(['de', 'fr', 'gb', 'us', 'jp']);
    if (next() < 0.7) traits.app_version = pick(['1.9.0', '2.0.0', '2.3.1', '3.0.0-beta.1']);
    if (next() < 0.5) traits.beta = next() < 0.5;
    if (next() < 0.6) traits.email = `user${i}@${pick(['example.com', 'acme.test', 'corp.io'])}`;
    if (next() < 0.4) traits.score = Math.round(next() * 1000) / 10;
    return { identifier: `user-${i}-${Math.floor(next() * 1e6)}`, traits };
  });
}

describe('our document in the published Flagsmith SDK', () => {
  let t: TestApp;
  let ws: Workspace;
  let dir: string;
  const featureIds: Record<string, string> = {};

  let gql: Gql;
  let sdk: WorkspaceHelpers;

  const feature = (
    name: string,
    initialValue: string | null,
    defaultEnabled: boolean,
    multivariateOptions?: { key: string; value: unknown; defaultPercentageAllocation: number }[],
  ): Promise<string> =>
    sdk.createFeature({ name, initialValue, defaultEnabled, multivariateOptions });

  const cond = (property: string, operator: string, value?: string) => ({
    property,
    operator,
    ...(value !== undefined && { value }),
  });

  beforeAll(async () => {
    ({ t, ws, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, ws.environments.Production!, featureIds);
    dir = mkdtempSync(path.join(tmpdir(), 'flagward-sdk-'));

    await feature('banner_text', 'Welcome', true);
    await feature('max_items', '25', true);
    await feature('dark_mode', 'false', false);
    await feature('beta_checkout', null, false);
    await feature('pricing_page', 'control', true, [
      { key: 'annual_first', value: 'annual', defaultPercentageAllocation: 30 },
      { key: 'monthly_first', value: 'monthly', defaultPercentageAllocation: 30 },
      { key: 'numeric', value: 42, defaultPercentageAllocation: 20 },
    ]);
    await feature('onboarding', 'v1', true, [
      { key: 'v2', value: 'v2', defaultPercentageAllocation: 50 },
      { key: 'v3', value: true, defaultPercentageAllocation: 25 },
    ]);
    await feature('search_engine', 'classic', true);

    const adults = await sdk.createSegment('adults in Europe', [
      {
        type: 'ALL',
        rules: [
          { type: 'ANY', conditions: [cond('age', 'GREATER_THAN_INCLUSIVE', '18')] },
          { type: 'ANY', conditions: [cond('country', 'IN', 'de,fr,gb')] },
        ],
      },
    ]);
    const paying = await sdk.createSegment('paying, not beta', [
      {
        type: 'ALL',
        conditions: [cond('plan', 'NOT_EQUAL', 'free'), cond('plan', 'IS_SET')],
        rules: [{ type: 'NONE', conditions: [cond('beta', 'EQUAL', 'true')] }],
      },
    ]);
    const modern = await sdk.createSegment('modern app', [
      { type: 'ALL', conditions: [cond('app_version', 'GREATER_THAN', '2.0.0:semver')] },
    ]);
    const tenth = await sdk.createSegment('ten percent', [
      { type: 'ALL', conditions: [{ operator: 'PERCENTAGE_SPLIT', value: '10' }] },
    ]);
    const staff = await sdk.createSegment('staff', [
      {
        type: 'ANY',
        conditions: [
          cond('email', 'REGEX', '.*@acme\\.test$'),
          cond('email', 'CONTAINS', '@corp.'),
        ],
      },
    ]);
    const odd = await sdk.createSegment('odd ages under 40', [
      {
        type: 'ALL',
        conditions: [cond('age', 'MODULO', '2|1'), cond('age', 'LESS_THAN', '40')],
      },
    ]);
    const scored = await sdk.createSegment('scored', [
      {
        type: 'ANY',
        conditions: [cond('score', 'GREATER_THAN', '50.5'), cond('age', 'IS_NOT_SET')],
      },
    ]);
    const byIdentifier = await sdk.createSegment('by identifier', [
      { type: 'ALL', conditions: [cond('$.identity.identifier', 'CONTAINS', '-1')] },
    ]);

    await sdk.createSegmentOverride(adults, 'banner_text', { enabled: true, value: 'Hallo' });
    await sdk.createSegmentOverride(staff, 'banner_text', {
      enabled: true,
      value: 'Hi colleague',
      priority: 0,
    });
    await sdk.createSegmentOverride(paying, 'max_items', { enabled: true, value: 500 });
    await sdk.createSegmentOverride(modern, 'dark_mode', { enabled: true, value: true });
    await sdk.createSegmentOverride(tenth, 'beta_checkout', { enabled: true, value: 'on' });
    await sdk.createSegmentOverride(odd, 'search_engine', { enabled: false, value: 'new' });
    await sdk.createSegmentOverride(scored, 'search_engine', {
      enabled: true,
      value: 'scored',
      priority: 0,
    });
    await sdk.createSegmentOverride(byIdentifier, 'max_items', { enabled: false, value: 1 });

    // A multivariate segment override with its own shares.
    const options = await gql<{ feature: { multivariateOptions: { id: string }[] } }>(
      'query($f: ID!) { feature(id: $f) { multivariateOptions { id } } }',
      { f: featureIds.pricing_page },
    );
    const [annual, monthly] = options.feature.multivariateOptions;
    await sdk.createSegmentOverride(paying, 'pricing_page', {
      enabled: true,
      value: 'segment-control',
      multivariateAllocations: [
        { optionId: annual!.id, percentageAllocation: 70 },
        { optionId: monthly!.id, percentageAllocation: 10 },
      ],
    });

    // Identity overrides for a few of the generated identities.
    for (const { identifier } of identities(240).slice(0, 6)) {
      const identity = await gql<{ createIdentity: { id: string } }>(
        'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
        { i: { environmentId: ws.environments.Production, identifier } },
      );
      await gql(
        'mutation($id: ID!, $f: ID!) { setIdentityOverride(identityId: $id, featureId: $f, input: { enabled: true, value: "just for you" }) { id } }',
        { id: identity.createIdentity.id, f: featureIds.banner_text },
      );
    }
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t?.close();
  });

  it('evaluates 240 identities exactly as our engine does', async () => {
    const doc = (
      await gql<{ environment: { document: EnvironmentDocument } }>(
        'query($id: ID!) { environment(id: $id) { document } }',
        { id: ws.environments.Production },
      )
    ).environment.document;
    expect(doc.project.segments).toHaveLength(8);
    expect(doc.identity_overrides).toHaveLength(6);
    const file = path.join(dir, 'environment.json');
    writeFileSync(file, JSON.stringify(doc));
    const sdk = new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(file) });

    const people = identities(240);
    const seen = {
      values: new Map<string, Set<string>>(),
      segmentsMatched: new Set<string>(),
    };
    for (const { identifier, traits } of people) {
      const theirs = await sdk.getIdentityFlags(identifier, traits);
      const result = evaluate(
        mapEnvironmentDocumentToContext(doc, { identity: { identifier, traits } }),
      );
      const ours = Object.fromEntries(
        Object.values(result.flags).map((f) => [f.name, { enabled: f.enabled, value: f.value }]),
      );
      const sdkFlags = Object.fromEntries(
        theirs.allFlags().map((f) => [f.featureName, { enabled: f.enabled, value: f.value }]),
      );
      expect(ours, `${identifier} ${JSON.stringify(traits)}`).toEqual(sdkFlags);
      for (const [name, flag] of Object.entries(ours)) {
        const values = seen.values.get(name) ?? new Set<string>();
        values.add(JSON.stringify(flag));
        seen.values.set(name, values);
      }
      for (const s of result.segments) seen.segmentsMatched.add(s.name);
    }

    // The sample exercised what it was meant to: every segment matched someone, and the
    // multivariate features and overrides produced several outcomes.
    expect([...seen.segmentsMatched].sort()).toEqual(
      [
        'adults in Europe',
        'by identifier',
        'identity_overrides',
        'modern app',
        'odd ages under 40',
        'paying, not beta',
        'scored',
        'staff',
        'ten percent',
      ].sort(),
    );
    expect(seen.values.get('pricing_page')!.size).toBeGreaterThanOrEqual(5);
    expect(seen.values.get('onboarding')!.size).toBe(3);
    expect(seen.values.get('banner_text')!.size).toBe(4);

    // And what the SDK answers is what was configured, case by case.
    const flag = async (identifier: string, traits: Traits, name: string) => {
      const f = (await sdk.getIdentityFlags(identifier, traits)).getFlag(name);
      return { enabled: f.enabled, value: f.value };
    };
    expect(await flag('x', { age: 30, country: 'de' }, 'banner_text')).toEqual({
      enabled: true,
      value: 'Hallo',
    });
    expect(
      await flag('x', { age: 30, country: 'de', email: 'a@acme.test' }, 'banner_text'),
    ).toEqual({ enabled: true, value: 'Hi colleague' });
    expect(await flag('x', { plan: 'pro' }, 'max_items')).toEqual({ enabled: true, value: 500 });
    expect(await flag('x', { plan: 'free' }, 'max_items')).toEqual({ enabled: true, value: 25 });
    expect(await flag('x-1', { plan: 'pro' }, 'max_items')).toEqual({ enabled: true, value: 500 });
    expect(await flag('x-1', {}, 'max_items')).toEqual({ enabled: false, value: 1 });
    expect(await flag('x', { app_version: '3.0.0-beta.1' }, 'dark_mode')).toEqual({
      enabled: true,
      value: true,
    });
    expect(await flag('x', { app_version: '1.9.0' }, 'dark_mode')).toEqual({
      enabled: false,
      value: false,
    });
    expect(await flag(people[0]!.identifier, {}, 'banner_text')).toEqual({
      enabled: true,
      value: 'just for you',
    });
  });
});
