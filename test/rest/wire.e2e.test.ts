import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, Trait } from '../../src/identities/identity.entity';
import type { Workspace } from '../support/fixtures';
import {
  adminWorkspace,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * The SDK REST shim on the wire, with plain fetch: exact status codes, bodies and headers
 * of shared/spec/sdk-rest-api.md.
 */

interface Flag {
  id: number | null;
  feature: {
    id: number;
    name: string;
    created_date: string | null;
    description: string | null;
    initial_value: string | null;
    default_enabled: boolean | null;
    type: string;
  };
  feature_state_value: unknown;
  environment: number | null;
  identity: number | null;
  feature_segment: number | null;
  enabled: boolean;
  variant?: string | null;
}

interface IdentityBody {
  identifier: string;
  traits: { id: number | null; trait_key: string; trait_value: unknown; transient: boolean }[];
  flags: Flag[];
}

describe('SDK REST shim: wire format', () => {
  let t: TestApp;
  let ws: Workspace;
  let clientKey: string;
  let serverKey: string;
  let serverKeyId: string;
  let envId: string;
  const featureIds: Record<string, string> = {};

  let gql: Gql;
  let sdk: WorkspaceHelpers;

  const api = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('X-Environment-Key', init.key);
    return fetch(`${t.url}/api/v1/${path}`, { ...init, headers });
  };
  const post = (path: string, body: unknown, key: string | null = clientKey) =>
    api(path, {
      method: 'POST',
      key,
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const updateEnvironment = (input: Record<string, unknown>) =>
    gql(
      'mutation($id: ID!, $i: UpdateEnvironmentInput!) { updateEnvironment(id: $id, input: $i) { id } }',
      {
        id: envId,
        i: input,
      },
    );

  async function countRows(): Promise<{ identities: number; traits: number }> {
    const em = t.app.db.orm.em.fork();
    return {
      identities: await em.count(Identity, { environment: Number(envId) }),
      traits: await em.count(Trait, { identity: { environment: Number(envId) } }),
    };
  }

  beforeAll(async () => {
    ({ t, ws, envId, clientKey, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, envId, featureIds);
    const created = await gql<{
      createServerSideKey: { key: string; serverSideKey: { id: string } };
    }>(
      'mutation($i: CreateServerSideKeyInput!) { createServerSideKey(input: $i) { key serverSideKey { id } } }',
      { i: { environmentId: envId, name: 'backend' } },
    );
    serverKey = created.createServerSideKey.key;
    serverKeyId = created.createServerSideKey.serverSideKey.id;

    await sdk.createFeature({
      name: 'banner',
      initialValue: 'Welcome',
      defaultEnabled: true,
      description: 'Top banner',
    });
    await sdk.createFeature({ name: 'max_items', initialValue: '25', defaultEnabled: true });
    await sdk.createFeature({ name: 'dark_mode', initialValue: 'true', defaultEnabled: false });
    await sdk.createFeature({
      name: 'secret_sauce',
      initialValue: 'x',
      defaultEnabled: true,
      isServerKeyOnly: true,
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('environment keys', () => {
    it('refuses a missing, unknown or wrong kind of key with Flagsmith bodies', async () => {
      const missing = await api('flags/');
      expect(missing.status).toBe(403);
      expect(await missing.json()).toEqual({ detail: 'Invalid or missing Environment key' });

      for (const key of ['nope', 'ser.nope']) {
        const unknown = await api('flags/', { key });
        expect(unknown.status).toBe(403);
        expect(await unknown.json()).toEqual({ detail: 'Invalid or missing Environment Key' });
      }
      const posted = await post('identities/', { identifier: 'a' }, 'nope');
      expect(posted.status).toBe(403);

      const doc = await api('environment-document/', { key: clientKey });
      expect(doc.status).toBe(403);
      expect(await doc.json()).toEqual({ detail: 'Invalid or missing Environment key' });
    });

    it('refuses inactive and expired server keys', async () => {
      const update = (input: Record<string, unknown>) =>
        gql(
          'mutation($id: ID!, $i: UpdateServerSideKeyInput!) { updateServerSideKey(id: $id, input: $i) { id } }',
          {
            id: serverKeyId,
            i: input,
          },
        );
      expect((await api('environment-document/', { key: serverKey })).status).toBe(200);
      await update({ active: false });
      const inactive = await api('environment-document/', { key: serverKey });
      expect(inactive.status).toBe(403);
      expect(await inactive.json()).toEqual({ detail: 'Invalid or missing Environment Key' });
      expect((await api('flags/', { key: serverKey })).status).toBe(403);

      await update({ active: true, expiresAt: new Date(Date.now() - 60_000).toISOString() });
      expect((await api('environment-document/', { key: serverKey })).status).toBe(403);
      await update({ expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      expect((await api('environment-document/', { key: serverKey })).status).toBe(200);
    });

    it('refuses every call of an organisation that stopped serving flags', async () => {
      const set = (stop: boolean) =>
        gql(
          'mutation($id: ID!, $s: Boolean!) { updateOrganisation(id: $id, input: { stopServingFlags: $s }) { id } }',
          {
            id: ws.organisationId,
            s: stop,
          },
        );
      await set(true);
      try {
        const res = await api('flags/', { key: clientKey });
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({
          detail: 'Organisation is disabled from serving flags.',
        });
        expect((await post('identities/', { identifier: 'u' })).status).toBe(403);
      } finally {
        await set(false);
      }
      expect((await api('flags/', { key: clientKey })).status).toBe(200);
    });
  });

  describe('GET flags/', () => {
    it('serves environment defaults in Flagsmith flag objects', async () => {
      const res = await api('flags/', { key: clientKey });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const stamp = res.headers.get('x-flagsmith-document-updated-at');
      expect(stamp).toMatch(/^\d+\.\d+$/);
      expect(Math.abs(Number(stamp) * 1000 - Date.now())).toBeLessThan(600_000);

      const flags = (await res.json()) as Flag[];
      expect(flags.map((f) => f.feature.name)).toEqual(['banner', 'max_items', 'dark_mode']);
      const banner = flags[0]!;
      expect(Object.keys(banner)).toEqual([
        'id',
        'feature',
        'feature_state_value',
        'environment',
        'identity',
        'feature_segment',
        'enabled',
      ]);
      expect(Object.keys(banner.feature)).toEqual([
        'id',
        'name',
        'created_date',
        'description',
        'initial_value',
        'default_enabled',
        'type',
      ]);
      expect(banner).toMatchObject({
        feature: {
          id: Number(featureIds.banner),
          name: 'banner',
          description: 'Top banner',
          initial_value: 'Welcome',
          default_enabled: true,
          type: 'STANDARD',
        },
        feature_state_value: 'Welcome',
        environment: Number(envId),
        identity: null,
        feature_segment: null,
        enabled: true,
      });
      expect(banner.id).toEqual(expect.any(Number));
      expect(banner.feature.created_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
      expect(flags[1]!.feature_state_value).toBe(25);
      expect(flags[2]).toMatchObject({ feature_state_value: true, enabled: false });
    });

    it('hides server-key-only features from client keys only', async () => {
      const server = (await (await api('flags/', { key: serverKey })).json()) as Flag[];
      expect(server.map((f) => f.feature.name)).toContain('secret_sauce');
      const single = await api('flags/?feature=secret_sauce', { key: clientKey });
      expect(single.status).toBe(404);
      expect(await single.json()).toEqual({ detail: 'Given feature not found' });
      const forServer = await api('flags/?feature=secret_sauce', { key: serverKey });
      expect(((await forServer.json()) as Flag).feature_state_value).toBe('x');
    });

    it('answers ?feature= with one flag (case-insensitive) or 404', async () => {
      const res = await api('flags/?feature=BANNER', { key: clientKey });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Flag).feature.name).toBe('banner');
      const missing = await api('flags/?feature=nope', { key: clientKey });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ detail: 'Given feature not found' });
    });

    it('leaves out disabled flags when hide_disabled_flags is on', async () => {
      await updateEnvironment({ hideDisabledFlags: true });
      try {
        const flags = (await (await api('flags/', { key: clientKey })).json()) as Flag[];
        expect(flags.map((f) => f.feature.name)).toEqual(['banner', 'max_items']);
        const identity = (await (
          await post('identities/', { identifier: 'hd' })
        ).json()) as IdentityBody;
        expect(identity.flags.map((f) => f.feature.name)).toEqual(['banner', 'max_items']);
      } finally {
        await updateEnvironment({ hideDisabledFlags: null });
      }
      const flags = (await (await api('flags/', { key: clientKey })).json()) as Flag[];
      expect(flags).toHaveLength(3);
    });

    it('nulls sensitive fields when hide_sensitive_data is on', async () => {
      await post('identities/', {
        identifier: 'sensitive',
        traits: [{ trait_key: 'a', trait_value: 1 }],
      });
      await updateEnvironment({ hideSensitiveData: true });
      try {
        const flags = (await (await api('flags/', { key: clientKey })).json()) as Flag[];
        expect(flags[0]).toEqual({
          id: null,
          feature: {
            id: Number(featureIds.banner),
            name: 'banner',
            created_date: null,
            description: null,
            initial_value: null,
            default_enabled: null,
            type: 'STANDARD',
          },
          feature_state_value: 'Welcome',
          environment: null,
          identity: null,
          feature_segment: null,
          enabled: true,
        });
        const identity = (await (
          await post('identities/', { identifier: 'sensitive' })
        ).json()) as IdentityBody;
        expect(identity.traits).toEqual([]);
        expect(identity.flags[0]).toMatchObject({ id: null, environment: null, variant: null });
      } finally {
        await updateEnvironment({ hideSensitiveData: false });
      }
    });
  });

  describe('identities/', () => {
    it('stores typed traits, returns them, and deletes one set to null', async () => {
      const res = await post('identities/', {
        identifier: 'alice',
        traits: [
          { trait_key: 'plan', trait_value: 'pro' },
          { trait_key: 'age', trait_value: 31 },
          { trait_key: 'ratio', trait_value: 1.5 },
          { trait_key: 'beta', trait_value: true },
          { trait_key: 'scratch', trait_value: 'x', transient: true },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-flagsmith-document-updated-at')).toMatch(/^\d+\.\d+$/);
      const body = (await res.json()) as IdentityBody;
      expect(Object.keys(body)).toEqual(['identifier', 'traits', 'flags']);
      expect(body.identifier).toBe('alice');
      expect(
        body.traits.map(({ trait_key, trait_value, transient }) => [
          trait_key,
          trait_value,
          transient,
        ]),
      ).toEqual([
        ['plan', 'pro', false],
        ['age', 31, false],
        ['ratio', 1.5, false],
        ['beta', true, false],
        ['scratch', 'x', true],
      ]);
      expect(body.traits.slice(0, 4).every((tr) => typeof tr.id === 'number')).toBe(true);
      expect(body.traits[4]!.id).toBeNull();
      expect(Object.keys(body.flags[0]!)).toContain('variant');
      expect(body.flags[0]!.variant).toBeNull();

      const em = t.app.db.orm.em.fork();
      const stored = await em.find(
        Trait,
        { identity: { identifier: 'alice' } },
        { orderBy: { key: 'asc' } },
      );
      expect(stored.map((r) => [r.key, r.valueType])).toEqual([
        ['age', 'int'],
        ['beta', 'bool'],
        ['plan', 'unicode'],
        ['ratio', 'float'],
      ]);

      const again = (await (
        await post('identities/', {
          identifier: 'alice',
          traits: [{ trait_key: 'plan', trait_value: null }],
        })
      ).json()) as IdentityBody;
      expect(again.traits.map((tr) => tr.trait_key)).toEqual(['age', 'ratio', 'beta']);
      expect(await em.fork().count(Trait, { identity: { identifier: 'alice' } })).toBe(3);

      const got = await api('identities/?identifier=alice', { key: clientKey });
      expect(got.status).toBe(200);
      const gotBody = (await got.json()) as IdentityBody;
      expect(gotBody.traits.map((tr) => [tr.trait_key, tr.trait_value])).toEqual([
        ['age', 31],
        ['ratio', 1.5],
        ['beta', true],
      ]);
      const one = await api('identities/?identifier=alice&feature=max_items', { key: clientKey });
      expect(((await one.json()) as Flag).feature_state_value).toBe(25);
      const none = await api('identities/?identifier=alice&feature=MAX_ITEMS', { key: clientKey });
      expect(none.status).toBe(404);
      expect(await none.json()).toEqual({ detail: 'Given feature not found' });
    });

    it('persists nothing for transient identities', async () => {
      const before = await countRows();
      const transient = (await (
        await post('identities/', {
          identifier: 'ghost',
          transient: true,
          traits: [{ trait_key: 'plan', trait_value: 'pro' }],
        })
      ).json()) as IdentityBody;
      expect(transient.identifier).toBe('ghost');
      expect(transient.traits).toEqual([
        { id: null, trait_key: 'plan', trait_value: 'pro', transient: true },
      ]);

      const anonymous = (await (
        await post('identities/', {
          traits: [
            { trait_key: 'b', trait_value: 2 },
            { trait_key: 'a', trait_value: true },
          ],
        })
      ).json()) as IdentityBody;
      // SHA-256 of "aTrue" + "b2".
      expect(anonymous.identifier).toBe(createHash('sha256').update('aTrueb2').digest('hex'));
      expect(anonymous.traits.every((tr) => tr.transient && tr.id === null)).toBe(true);
      const empty = (await (await post('identities/', {})).json()) as IdentityBody;
      expect(empty.identifier).toMatch(/^[0-9a-f]{32}$/);

      const get = (await (
        await api('identities/?identifier=ghost2&transient=true', { key: clientKey })
      ).json()) as IdentityBody;
      expect(get).toMatchObject({ identifier: 'ghost2', traits: [] });
      expect(await countRows()).toEqual(before);
    });

    it('ignores client traits when allow_client_traits is off', async () => {
      await post('identities/', {
        identifier: 'bob',
        traits: [{ trait_key: 'plan', trait_value: 'free' }],
      });
      await updateEnvironment({ allowClientTraits: false });
      try {
        const body = (await (
          await post('identities/', {
            identifier: 'bob',
            traits: [
              { trait_key: 'plan', trait_value: 'pro' },
              { trait_key: 'new', trait_value: 1 },
            ],
          })
        ).json()) as IdentityBody;
        expect(body.traits.map((tr) => [tr.trait_key, tr.trait_value])).toEqual([['plan', 'free']]);
        // A server key may still write them.
        const server = (await (
          await post(
            'identities/',
            { identifier: 'bob', traits: [{ trait_key: 'plan', trait_value: 'pro' }] },
            serverKey,
          )
        ).json()) as IdentityBody;
        expect(server.traits.map((tr) => [tr.trait_key, tr.trait_value])).toEqual([
          ['plan', 'pro'],
        ]);
      } finally {
        await updateEnvironment({ allowClientTraits: true });
      }
    });

    it('answers GET without identifier as Flagsmith does', async () => {
      const res = await api('identities/', { key: clientKey });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ detail: 'Missing identifier' });
    });

    it('rejects bad bodies with 400 JSON, never a 500', async () => {
      const malformed = await post('identities/', '{"identifier": ');
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await malformed.json()) as { detail: string }).detail).toMatch(/^JSON parse error/);

      const cases: [unknown, unknown][] = [
        [
          { identifier: 'x', traits: [{ trait_value: 1 }] },
          { traits: [{ trait_key: ['This field is required.'] }] },
        ],
        [
          { identifier: 'x', traits: [{ trait_key: 'ok', trait_value: 1 }, { trait_key: 'k' }] },
          { traits: [{}, { trait_value: ['This field is required.'] }] },
        ],
        [
          { identifier: 'x', traits: 'plan' },
          { traits: ['Expected a list of items but got type "str".'] },
        ],
        [{ identifier: ['x'] }, { identifier: ['Not a valid string.'] }],
        [{ identifier: 'x', transient: 'maybe' }, { transient: ['Must be a valid boolean.'] }],
        [[1, 2], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
        [
          { identifier: 'x', traits: [{ trait_key: 'long', trait_value: 'y'.repeat(2001) }] },
          {
            traits: [
              { trait_value: ['Value string is too long. Must be less than 2000 character'] },
            ],
          },
        ],
      ];
      for (const [body, errors] of cases) {
        const res = await post('identities/', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(await res.json()).toEqual(errors);
      }
      // No partial writes: the valid trait of a rejected request was not stored.
      const em = t.app.db.orm.em.fork();
      expect(await em.count(Identity, { identifier: 'x' })).toBe(0);
    });
  });

  describe('environment-document/', () => {
    it('serves the document to server keys with date headers and 304 on request', async () => {
      const res = await api('environment-document/', { key: serverKey });
      expect(res.status).toBe(200);
      const doc = (await res.json()) as { api_key: string; feature_states: unknown[] };
      expect(doc.api_key).toBe(clientKey);
      expect(doc.feature_states).toHaveLength(4);
      const lastModified = res.headers.get('last-modified')!;
      expect(new Date(lastModified).toUTCString()).toBe(lastModified);
      expect(res.headers.get('x-flagsmith-document-updated-at')).toMatch(/^\d+\.\d+$/);

      const cached = await api('environment-document/', {
        key: serverKey,
        headers: { 'If-Modified-Since': lastModified },
      });
      expect(cached.status).toBe(304);
      const stale = await api('environment-document/', {
        key: serverKey,
        headers: { 'If-Modified-Since': new Date(Date.parse(lastModified) - 10_000).toUTCString() },
      });
      expect(stale.status).toBe(200);
    });
  });

  describe('identity flag provenance', () => {
    it('names the segment override or identity override that won, with variant', async () => {
      const segmentId = await sdk.createSegment('gold', [
        { type: 'ALL', conditions: [{ property: 'tier', operator: 'EQUAL', value: 'gold' }] },
      ]);
      const overrideId = await sdk.createSegmentOverride(segmentId, 'max_items', {
        enabled: true,
        value: 1000,
      });
      const vip = await gql<{ createIdentity: { id: string } }>(
        'mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { id } }',
        { i: { environmentId: envId, identifier: 'vip' } },
      );
      const state = await gql<{ setIdentityOverride: { id: string } }>(
        'mutation($id: ID!, $f: ID!) { setIdentityOverride(identityId: $id, featureId: $f, input: { enabled: true, value: "vip!" }) { id } }',
        { id: vip.createIdentity.id, f: featureIds.banner },
      );

      const body = (await (
        await post('identities/', {
          identifier: 'vip',
          traits: [{ trait_key: 'tier', trait_value: 'gold' }],
        })
      ).json()) as IdentityBody;
      const byName = Object.fromEntries(body.flags.map((f) => [f.feature.name, f]));
      expect(byName.banner).toMatchObject({
        id: Number(state.setIdentityOverride.id),
        feature_state_value: 'vip!',
        identity: Number(vip.createIdentity.id),
        feature_segment: null,
        variant: null,
      });
      expect(byName.max_items).toMatchObject({
        feature_state_value: 1000,
        identity: null,
        feature_segment: Number(overrideId),
        variant: null,
      });
      expect(byName.dark_mode).toMatchObject({ identity: null, feature_segment: null });

      // A transient GET ignores the identity's overrides and stored traits.
      const transient = (await (
        await api('identities/?identifier=vip&transient=true', { key: clientKey })
      ).json()) as IdentityBody;
      expect(transient.flags.find((f) => f.feature.name === 'banner')!.feature_state_value).toBe(
        'Welcome',
      );
    });
  });

  describe('routing', () => {
    it('answers unknown paths and methods with JSON', async () => {
      const unknown = await api('nope/', { key: clientKey });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ detail: 'Not found.' });
      const method = await api('flags/', { method: 'DELETE', key: clientKey });
      expect(method.status).toBe(405);
      expect(await method.json()).toEqual({ detail: 'Method "DELETE" not allowed.' });
    });
  });
});
