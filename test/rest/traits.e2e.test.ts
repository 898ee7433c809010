import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, Trait } from '../../src/identities/identity.entity';
import { ApiUsage, ApiUsageKind } from '../../src/usage/api-usage.entity';
import type { Workspace } from '../support/fixtures';
import { adminWorkspace, createServerSideKey, type Gql } from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * Flagsmith's legacy trait endpoints (sdk-rest-api.md §8) on the wire: `POST traits/`,
 * `PUT traits/bulk/`, `POST traits/increment-value/`, and CORS for the SDK endpoints.
 */

interface IdentityBody {
  identifier: string;
  traits: { id: number | null; trait_key: string; trait_value: unknown; transient: boolean }[];
}

describe('SDK REST shim: legacy trait endpoints', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: string;
  let clientKey: string;
  let serverKey: string;

  let gql: Gql;

  const send = (method: string, path: string, body: unknown, key: string | null = clientKey) => {
    const headers = new Headers({ 'content-type': 'application/json' });
    if (key) headers.set('X-Environment-Key', key);
    return fetch(`${t.url}/api/v1/${path}`, {
      method,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  };

  /** The stored traits of an identity, as [key, value] pairs by key. */
  async function traitsOf(identifier: string): Promise<[string, unknown][]> {
    const res = await fetch(
      `${t.url}/api/v1/identities/?identifier=${encodeURIComponent(identifier)}`,
      { headers: { 'X-Environment-Key': serverKey } },
    );
    const body = (await res.json()) as IdentityBody;
    return body.traits
      .map((tr): [string, unknown] => [tr.trait_key, tr.trait_value])
      .sort((a, b) => a[0].localeCompare(b[0]));
  }

  async function countRows(): Promise<{ identities: number; traits: number }> {
    const em = t.app.db.orm.em.fork();
    return {
      identities: await em.count(Identity, { environment: Number(envId) }),
      traits: await em.count(Trait, { identity: { environment: Number(envId) } }),
    };
  }

  const updateEnvironment = (input: Record<string, unknown>) =>
    gql(
      'mutation($id: ID!, $i: UpdateEnvironmentInput!) { updateEnvironment(id: $id, input: $i) { id } }',
      { id: envId, i: input },
    );
  const persistTraits = (on: boolean) =>
    gql(
      'mutation($id: ID!, $p: Boolean!) { updateOrganisation(id: $id, input: { persistTraitData: $p }) { id } }',
      { id: ws.organisationId, p: on },
    );

  beforeAll(async () => {
    ({ t, ws, envId, clientKey, gql } = await adminWorkspace());
    serverKey = await createServerSideKey(gql, envId);
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('POST traits/', () => {
    it('creates the identity, upserts the trait and echoes it with 200', async () => {
      const res = await send('POST', 'traits/', {
        identity: { identifier: 'ann' },
        trait_key: 'age',
        trait_value: 31,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({ identity: { identifier: 'ann' }, trait_value: 31, trait_key: 'age' });
      expect(Object.keys(body)).toEqual(['identity', 'trait_value', 'trait_key']);

      const again = await send('POST', 'traits/', {
        identity: { identifier: 'ann' },
        trait_key: 'age',
        trait_value: 'thirty-two',
      });
      expect(await again.json()).toMatchObject({ trait_value: 'thirty-two' });
      expect(await traitsOf('ann')).toEqual([['age', 'thirty-two']]);
    });

    it('answers bad items with DRF field errors and writes nothing', async () => {
      const before = await countRows();
      const missing = await send('POST', 'traits/', { trait_value: 1 });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toEqual({
        identity: ['This field is required.'],
        trait_key: ['This field is required.'],
      });
      const nested = await send('POST', 'traits/', {
        identity: { identifier: '' },
        trait_key: 'k',
        trait_value: null,
      });
      expect(nested.status).toBe(400);
      expect(await nested.json()).toEqual({
        identity: { identifier: ['This field may not be blank.'] },
        trait_value: ['This field may not be null.'],
      });
      const list = await send('POST', 'traits/', [1]);
      expect(list.status).toBe(400);
      expect(await list.json()).toEqual({
        non_field_errors: ['Invalid data. Expected a dictionary, but got list.'],
      });
      const malformed = await send('POST', 'traits/', '{"identity":');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toHaveProperty('detail');
      expect(await countRows()).toEqual(before);
    });

    it('refuses client keys when client traits are off, but not server keys', async () => {
      await updateEnvironment({ allowClientTraits: false });
      try {
        const item = { identity: { identifier: 'cli' }, trait_key: 'k', trait_value: 'v' };
        const refused = await send('POST', 'traits/', item);
        expect(refused.status).toBe(400);
        expect(await refused.json()).toEqual({
          non_field_errors: ['Setting traits not allowed with client key.'],
        });
        expect((await send('POST', 'traits/', item, serverKey)).status).toBe(200);
      } finally {
        await updateEnvironment({ allowClientTraits: true });
      }
    });

    it('refuses unknown keys and other methods', async () => {
      const res = await send('POST', 'traits/', {}, 'nope');
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ detail: 'Invalid or missing Environment Key' });
      const get = await fetch(`${t.url}/api/v1/traits/`, {
        headers: { 'X-Environment-Key': clientKey },
      });
      expect(get.status).toBe(405);
      expect(await get.json()).toEqual({ detail: 'Method "GET" not allowed.' });
    });
  });

  describe('PUT traits/bulk/', () => {
    it('upserts across identities, deletes null values and echoes the rest', async () => {
      await send('POST', 'traits/', {
        identity: { identifier: 'bea' },
        trait_key: 'old',
        trait_value: true,
      });
      const res = await send('PUT', 'traits/bulk/', [
        { identity: { identifier: 'bea' }, trait_key: 'plan', trait_value: 'pro' },
        { identity: { identifier: 'bea' }, trait_key: 'old', trait_value: null },
        { identity: { identifier: 'cat' }, trait_key: 'score', trait_value: 2.5 },
        { identity: { identifier: 'ghost' }, trait_key: 'x', trait_value: null },
      ]);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([
        { identity: { identifier: 'bea' }, trait_value: 'pro', trait_key: 'plan' },
        { identity: { identifier: 'cat' }, trait_value: 2.5, trait_key: 'score' },
      ]);
      expect(await traitsOf('bea')).toEqual([['plan', 'pro']]);
      expect(await traitsOf('cat')).toEqual([['score', 2.5]]);
      const em = t.app.db.orm.em.fork();
      expect(await em.count(Identity, { environment: Number(envId), identifier: 'ghost' })).toBe(0);
    });

    it('writes nothing when one item is bad', async () => {
      await send('PUT', 'traits/bulk/', [
        { identity: { identifier: 'dan' }, trait_key: 'keep', trait_value: 1 },
      ]);
      const before = await countRows();
      const res = await send('PUT', 'traits/bulk/', [
        { identity: { identifier: 'dan' }, trait_key: 'keep', trait_value: null },
        { identity: { identifier: 'dan' }, trait_key: 'new', trait_value: 'x' },
        { identity: { identifier: 'eve' }, trait_key: 'a', trait_value: 1 },
        { identity: { identifier: 'eve' }, trait_value: 'no key' },
      ]);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual([{}, {}, { trait_key: ['This field is required.'] }]);
      expect(await countRows()).toEqual(before);
      expect(await traitsOf('dan')).toEqual([['keep', 1]]);

      for (const body of [{ not: 'a list' }, [1], [{ trait_key: 'k', trait_value: null }]]) {
        const bad = await send('PUT', 'traits/bulk/', body);
        expect(bad.status).toBe(400);
        expect(await bad.json()).toEqual({ detail: 'Invalid request data' });
      }
      expect(await countRows()).toEqual(before);
    });

    it("answers a refused client key with Django's Bad Request page", async () => {
      await updateEnvironment({ allowClientTraits: false });
      try {
        const before = await countRows();
        const res = await send('PUT', 'traits/bulk/', [
          { identity: { identifier: 'fay' }, trait_key: 'k', trait_value: 'v' },
        ]);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await res.text()).toContain('<h1>Bad Request (400)</h1>');
        expect(await countRows()).toEqual(before);
      } finally {
        await updateEnvironment({ allowClientTraits: true });
      }
    });
  });

  describe('POST traits/increment-value/', () => {
    it('creates a missing trait at 0 and increments it', async () => {
      const first = await send('POST', 'traits/increment-value/', {
        trait_key: 'visits',
        increment_by: 1,
        identifier: 'gil',
      });
      expect(first.status).toBe(200);
      const body = (await first.json()) as Record<string, unknown>;
      expect(body).toEqual({ trait_key: 'visits', trait_value: 1, identifier: 'gil' });
      expect(Object.keys(body)).toEqual(['trait_key', 'trait_value', 'identifier']);
      const second = await send('POST', 'traits/increment-value/', {
        trait_key: 'visits',
        increment_by: -5,
        identifier: 'gil',
      });
      expect(await second.json()).toEqual({
        trait_key: 'visits',
        trait_value: -4,
        identifier: 'gil',
      });
      expect(await traitsOf('gil')).toEqual([['visits', -4]]);
    });

    it('refuses non-integer traits, bad fields and refused client keys', async () => {
      await send('POST', 'traits/', {
        identity: { identifier: 'hal' },
        trait_key: 'name',
        trait_value: 'Hal',
      });
      const before = await countRows();
      const notInt = await send('POST', 'traits/increment-value/', {
        trait_key: 'name',
        increment_by: 1,
        identifier: 'hal',
      });
      expect(notInt.status).toBe(400);
      expect(await notInt.json()).toEqual(['Trait is not an integer.']);

      const fields = await send('POST', 'traits/increment-value/', {
        trait_key: 'n',
        increment_by: 'lots',
      });
      expect(fields.status).toBe(400);
      expect(await fields.json()).toEqual({
        increment_by: ['A valid integer is required.'],
        identifier: ['This field is required.'],
      });

      await updateEnvironment({ allowClientTraits: false });
      try {
        const refused = await send('POST', 'traits/increment-value/', {
          trait_key: 'n',
          increment_by: 1,
          identifier: 'hal',
        });
        expect(refused.status).toBe(400);
        expect(await refused.json()).toEqual({
          non_field_errors: ['Setting traits not allowed with client key.'],
        });
      } finally {
        await updateEnvironment({ allowClientTraits: true });
      }
      expect(await countRows()).toEqual(before);
    });
  });

  it('answers 403 on every trait endpoint when the organisation does not persist traits', async () => {
    await persistTraits(false);
    try {
      const before = await countRows();
      const item = { identity: { identifier: 'ivy' }, trait_key: 'k', trait_value: 'v' };
      for (const [method, path, body] of [
        ['POST', 'traits/', item],
        ['PUT', 'traits/bulk/', [item]],
        ['POST', 'traits/increment-value/', { trait_key: 'k', increment_by: 1, identifier: 'ivy' }],
      ] as const) {
        const res = await send(method, path, body, serverKey);
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({
          detail: 'Organisation is not authorised to store traits.',
        });
      }
      expect(await countRows()).toEqual(before);
    } finally {
      await persistTraits(true);
    }
  });

  it('counts the trait endpoints as TRAITS usage', async () => {
    const count = async () => {
      await t.app.usage.flush();
      const rows = await t.app.db.orm.em
        .fork()
        .find(ApiUsage, { environment: Number(envId), kind: ApiUsageKind.TRAITS });
      return rows.reduce((n, r) => n + Number(r.count), 0);
    };
    const before = await count();
    await send('POST', 'traits/', {
      identity: { identifier: 'jo' },
      trait_key: 'k',
      trait_value: 1,
    });
    await send('PUT', 'traits/bulk/', []);
    await send('POST', 'traits/increment-value/', {
      trait_key: 'k',
      increment_by: 1,
      identifier: 'jo',
    });
    expect(await count()).toBe(before + 3);
  });

  describe('CORS', () => {
    it('answers preflights for the SDK endpoints', async () => {
      for (const [path, method] of [
        ['flags/', 'GET'],
        ['identities/', 'POST'],
        ['traits/bulk/', 'PUT'],
      ]) {
        const res = await fetch(`${t.url}/api/v1/${path}`, {
          method: 'OPTIONS',
          headers: {
            origin: 'https://app.example',
            'access-control-request-method': method!,
            'access-control-request-headers': 'x-environment-key, content-type',
          },
        });
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        const methods = res.headers.get('access-control-allow-methods')!;
        for (const m of ['GET', 'POST', 'PUT', 'OPTIONS']) expect(methods).toContain(m);
        const headers = res.headers.get('access-control-allow-headers')!.toLowerCase();
        expect(headers).toContain('x-environment-key');
        expect(headers).toContain('content-type');
      }
    });

    it('marks SDK responses readable from any origin, errors included', async () => {
      const ok200 = await fetch(`${t.url}/api/v1/flags/`, {
        headers: { 'X-Environment-Key': clientKey, origin: 'https://app.example' },
      });
      expect(ok200.headers.get('access-control-allow-origin')).toBe('*');
      expect(ok200.headers.get('access-control-expose-headers')).toContain(
        'X-Flagsmith-Document-Updated-At',
      );
      const refused = await fetch(`${t.url}/api/v1/flags/`, { headers: { origin: 'x' } });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('leaves /graphql without CORS', async () => {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
