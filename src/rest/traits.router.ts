import {
  type EntityManager,
  LockMode,
  type MikroORM,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { Identity, Trait, TraitValueType } from '../identities/identity.entity';
import { traitValueOf, type TypedTraitValue } from '../identities/trait-value';
import type { CachedEnvironment } from './document-cache';
import { readJson, type SdkCall, send } from './http';
import {
  hasNul,
  IDENTIFIER_LIMIT,
  isObject,
  NOT_BLANK,
  NOT_NULL,
  NOT_STRING,
  pythonType,
  REQUIRED,
  TRAIT_KEY_LIMIT,
  textProblem,
  traitValueProblem,
  type TraitRequest,
  typeTraitValue,
} from './identify-request';
import type { SdkCache, SdkEnvironment } from './sdk-cache';
import { writeTraits } from './sdk-identities';
import type { SdkRoute } from './sdk.router';
import { ApiUsageKind } from '../usage/api-usage.entity';

/**
 * Flagsmith's legacy trait endpoints (sdk-rest-api.md §8): `POST traits/`,
 * `PUT traits/bulk/` and `POST traits/increment-value/`. No current SDK calls them; they
 * write through the same trait persistence as `POST identities/`, each request in one
 * transaction, validated in full before anything is written.
 */

const NOT_PERSISTED = { detail: 'Organisation is not authorised to store traits.' } as const;
const CLIENT_KEY_REFUSED = {
  non_field_errors: ['Setting traits not allowed with client key.'],
} as const;
const INVALID_REQUEST = { detail: 'Invalid request data' } as const;
/** Django's `BadRequest` page, which Core answers to a refused bulk write (§8.2). */
const DJANGO_BAD_REQUEST = `
<!doctype html>
<html lang="en">
<head>
  <title>Bad Request (400)</title>
</head>
<body>
  <h1>Bad Request (400)</h1><p></p>
</body>
</html>
`;

const NOT_INTEGER = 'A valid integer is required.';

type Errors = Record<string, unknown>;
type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; errors: Errors };

const notADictionary = (value: unknown): Errors => ({
  non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(value)}.`],
});

/** DRF's `CharField` (trimmed, not blank, limited); returns the error messages or the text. */
function charField(value: unknown, limit: number): string | string[] {
  if (value === undefined) return [REQUIRED];
  if (value === null) return [NOT_NULL];
  if (typeof value !== 'string' && typeof value !== 'number') return [NOT_STRING];
  const text = String(value).trim();
  if (text === '') return [NOT_BLANK];
  const problem = textProblem(text, limit);
  return problem ? [problem] : text;
}

/** One `{identity: {identifier}, trait_key, trait_value}` item with a non-null value. */
interface TraitItem {
  readonly identifier: string;
  readonly key: string;
  readonly value: TypedTraitValue;
}

function checkItem(item: unknown): Checked<TraitItem> {
  if (!isObject(item)) {
    return { ok: false, errors: notADictionary(item) };
  }
  const errors: Errors = {};
  let identifier = '';
  if (item.identity === undefined) errors.identity = [REQUIRED];
  else if (item.identity === null) errors.identity = [NOT_NULL];
  else if (!isObject(item.identity)) {
    errors.identity = notADictionary(item.identity);
  } else {
    const checked = charField(item.identity.identifier, IDENTIFIER_LIMIT);
    if (Array.isArray(checked)) errors.identity = { identifier: checked };
    else identifier = checked;
  }
  const key = charField(item.trait_key, TRAIT_KEY_LIMIT);
  if (Array.isArray(key)) errors.trait_key = key;

  let value: TypedTraitValue | undefined;
  if (item.trait_value === undefined) errors.trait_value = [REQUIRED];
  else if (item.trait_value === null) errors.trait_value = [NOT_NULL];
  else {
    value = typeTraitValue(item.trait_value);
    const problem = traitValueProblem(value);
    if (problem) errors.trait_value = [problem];
  }
  if (Object.keys(errors).length > 0 || Array.isArray(key) || !value) return { ok: false, errors };
  return { ok: true, value: { identifier, key, value } };
}

/** DRF's `IntegerField`: integers, whole floats and integer strings. */
function integerField(value: unknown): number | string[] {
  if (value === undefined) return [REQUIRED];
  if (value === null) return [NOT_NULL];
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*[-+]?\d+(\.0*)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) ? n : [NOT_INTEGER];
}

const echo = (item: TraitItem, row: Trait) => ({
  identity: { identifier: item.identifier },
  trait_value: traitValueOf(row).value,
  trait_key: item.key,
});

const clientRefused = (entry: CachedEnvironment, environment: SdkEnvironment): boolean =>
  !entry.document.allow_client_traits && environment.origin === 'CLIENT';

/** A transaction, run once more if a concurrent request created the same identity or trait. */
async function retrying<T>(orm: MikroORM, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  try {
    return await orm.em.fork().transactional(work);
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) return orm.em.fork().transactional(work);
    throw err;
  }
}

class NotAnInteger extends Error {}

type TraitsHandler = (
  call: SdkCall,
  entry: CachedEnvironment,
  environment: SdkEnvironment,
) => Promise<void>;

/** The legacy trait endpoints, for the SDK router. */
export function traitsRoutes(orm: MikroORM, cache: SdkCache): [string, SdkRoute][] {
  /** Resolves the cached environment; refuses organisations that do not store traits. */
  const persisting =
    (handler: TraitsHandler) =>
    async (call: SdkCall, environment: SdkEnvironment): Promise<void> => {
      const entry = await cache.environment(environment.environmentId);
      if (!entry.document.project.organisation.persist_trait_data) {
        send(call, 403, NOT_PERSISTED);
        return;
      }
      await handler(call, entry, environment);
    };

  const setTrait: TraitsHandler = async (call, entry, environment) => {
    const body = await readJson(call);
    if (!body.ok) return;
    const checked = checkItem(body.value);
    if (!checked.ok) {
      send(call, 400, checked.errors);
      return;
    }
    if (clientRefused(entry, environment)) {
      send(call, 400, CLIENT_KEY_REFUSED);
      return;
    }
    const item = checked.value;
    const trait: TraitRequest = { key: item.key, value: item.value, transient: false };
    const { rows } = await retrying<{ rows: Trait[] }>(orm, (tx) =>
      writeTraits(tx, entry.document.id, item.identifier, [trait]),
    );
    send(
      call,
      200,
      echo(
        item,
        rows.find((r) => r.key === item.key)!,
      ),
    );
  };

  const bulk: TraitsHandler = async (call, entry, environment) => {
    const read = await readJson(call);
    if (!read.ok) return;
    if (clientRefused(entry, environment)) {
      send(call, 400, DJANGO_BAD_REQUEST, { 'Content-Type': 'text/html; charset=utf-8' });
      return;
    }
    const body = read.value;
    if (!Array.isArray(body)) {
      send(call, 400, INVALID_REQUEST);
      return;
    }
    // Null values delete (Core removes them before validating the rest).
    const deletes: { identifier: string; key: string }[] = [];
    const sets: unknown[] = [];
    for (const item of body as unknown[]) {
      if (!isObject(item)) {
        send(call, 400, INVALID_REQUEST);
        return;
      }
      if (item.trait_value !== undefined && item.trait_value !== null) {
        sets.push(item);
        continue;
      }
      const identifier = isObject(item.identity) ? item.identity.identifier : undefined;
      if (typeof identifier !== 'string' && typeof identifier !== 'number') {
        send(call, 400, INVALID_REQUEST);
        return;
      }
      const key = item.trait_key;
      // A NUL is in no stored identifier or key: such a delete has nothing to delete.
      if (typeof key === 'string' || typeof key === 'number') {
        const target = { identifier: String(identifier).trim(), key: String(key).trim() };
        if (!hasNul(target.identifier) && !hasNul(target.key)) deletes.push(target);
      }
    }
    const checked = sets.map(checkItem);
    if (checked.some((c) => !c.ok)) {
      send(
        call,
        400,
        checked.map((c) => (c.ok ? {} : c.errors)),
      );
      return;
    }
    const items = checked.map((c) => (c as { value: TraitItem }).value);

    const byIdentity = new Map<string, TraitRequest[]>();
    const writesOf = (identifier: string): TraitRequest[] => {
      let list = byIdentity.get(identifier);
      if (!list) byIdentity.set(identifier, (list = []));
      return list;
    };
    for (const d of deletes) writesOf(d.identifier).push({ ...d, value: null, transient: false });
    for (const i of items) writesOf(i.identifier).push({ ...i, transient: false });

    const stored = await retrying<Map<string, Trait[]>>(orm, async (tx) => {
      const result = new Map<string, Trait[]>();
      for (const [identifier, writes] of byIdentity) {
        if (writes.every((w) => w.value === null)) {
          // Deleting from an identity that does not exist creates nothing.
          const exists = await tx.count(Identity, { environment: entry.document.id, identifier });
          if (!exists) continue;
        }
        const { rows } = await writeTraits(tx, entry.document.id, identifier, writes);
        result.set(identifier, rows);
      }
      return result;
    });
    send(
      call,
      200,
      items.map((i) =>
        echo(
          i,
          stored.get(i.identifier)!.find((r) => r.key === i.key)!,
        ),
      ),
    );
  };

  const increment: TraitsHandler = async (call, entry, environment) => {
    const read = await readJson(call);
    if (!read.ok) return;
    const body = read.value;
    if (!isObject(body)) {
      send(call, 400, notADictionary(body));
      return;
    }
    const errors: Errors = {};
    const key = charField(body.trait_key, TRAIT_KEY_LIMIT);
    if (Array.isArray(key)) errors.trait_key = key;
    const by = integerField(body.increment_by);
    if (Array.isArray(by)) errors.increment_by = by;
    const identifier = charField(body.identifier, IDENTIFIER_LIMIT);
    if (Array.isArray(identifier)) errors.identifier = identifier;
    if (Array.isArray(key) || Array.isArray(by) || Array.isArray(identifier)) {
      send(call, 400, errors);
      return;
    }
    if (clientRefused(entry, environment)) {
      send(call, 400, CLIENT_KEY_REFUSED);
      return;
    }
    const environmentId = entry.document.id;
    let value: number;
    try {
      value = await retrying<number>(orm, async (tx) => {
        const identity = await tx.findOne(Identity, { environment: environmentId, identifier });
        const row = identity
          ? await tx.findOne(Trait, { identity, key }, { lockMode: LockMode.PESSIMISTIC_WRITE })
          : null;
        if (row && row.valueType !== TraitValueType.int) throw new NotAnInteger();
        const next = Number(row ? traitValueOf(row).value : 0) + by;
        if (!Number.isSafeInteger(next)) throw new NotAnInteger();
        await writeTraits(tx, environmentId, identifier, [
          { key, value: { type: TraitValueType.int, value: next }, transient: false },
        ]);
        return next;
      });
    } catch (err) {
      if (!(err instanceof NotAnInteger)) throw err;
      send(call, 400, ['Trait is not an integer.']);
      return;
    }
    send(call, 200, { trait_key: key, trait_value: value, identifier });
  };

  const usage = ApiUsageKind.TRAITS;
  return [
    ['/api/v1/traits/', { methods: { POST: persisting(setTrait) }, usage }],
    ['/api/v1/traits/bulk/', { methods: { PUT: persisting(bulk) }, usage }],
    ['/api/v1/traits/increment-value/', { methods: { POST: persisting(increment) }, usage }],
  ];
}
