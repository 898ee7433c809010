import { randomUUID } from 'node:crypto';
import {
  ConstraintViolationException,
  type EntityManager,
  type MikroORM,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { isDatabaseUnavailable } from '../db/unavailable';
import { evaluate, type EvaluationResult, type TraitValue } from '../engine';
import { Identity, Trait } from '../identities/identity.entity';
import { traitColumns, traitValueOf, type TypedTraitValue } from '../identities/trait-value';
import { sha256Hex } from '../shared/ids';
import type { AnswerCache } from './answer-cache';
import type { CachedEnvironment } from './document-cache';
import {
  IdentityReader,
  type StoredIdentity,
  type StoredTrait,
  storedTraitOf,
  type TraitRow,
} from './identity-reader';
import type { KeyOrigin } from './sdk-cache';
import { type FlagObject, identityFlagsJson, toFlagObjects } from './flags';
import { type IdentifyRequest, type TraitRequest, traitValueText } from './identify-request';

/** A trait in an identity response (sdk-rest-api.md §6.3). */
export interface TraitObject {
  readonly id: number | null;
  readonly trait_key: string;
  readonly trait_value: string | number | boolean;
  readonly transient: boolean;
}

/** An identity's flags and traits (sdk-rest-api.md §6.3), ready to send. */
export interface IdentityAnswer {
  /** The response body: `{identifier, traits, flags}` as UTF-8 JSON. */
  json(): Buffer;
  /** One flag object by feature name (`?feature=`), or undefined. */
  flag(name: string): FlagObject | undefined;
  /**
   * The database was unreachable: evaluated on the cached document with only the traits
   * sent (stored traits unread, nothing written).
   */
  readonly degraded: boolean;
}

/** Whose flags to answer with: the identity, its traits and whether its overrides apply. */
interface Subject {
  readonly identifier: string;
  readonly identityId: number | null | undefined;
  readonly traits: readonly TraitObject[];
  readonly withOverrides: boolean;
}

const stored = (row: StoredTrait): TraitObject => ({
  id: row.id,
  trait_key: row.key,
  trait_value: traitValueOf(row).value,
  transient: false,
});

const unsaved = (
  t: TraitRequest & { value: TypedTraitValue },
  transient: boolean,
): TraitObject => ({
  id: null,
  trait_key: t.key,
  trait_value: t.value.value,
  transient,
});

const withValue = (t: TraitRequest): t is TraitRequest & { value: TypedTraitValue } =>
  t.value !== null;

/** `base` with `extra` laid over it by key (an extra replaces a base trait in place). */
function overlay(base: readonly TraitObject[], extra: readonly TraitObject[]): TraitObject[] {
  const byKey = new Map(base.map((t) => [t.trait_key, t]));
  for (const t of extra) byKey.set(t.trait_key, t);
  return [...byKey.values()];
}

/** Whether a stored trait already holds this value (same type, same column). */
function holds(row: StoredTrait, value: TypedTraitValue): boolean {
  const c = traitColumns(value);
  return (
    c.valueType === row.valueType &&
    c.stringValue === (row.stringValue ?? null) &&
    c.integerValue === (row.integerValue ?? null) &&
    c.booleanValue === (row.booleanValue ?? null) &&
    c.floatValue === (row.floatValue ?? null)
  );
}

/** Flagsmith's identifier for an identity sent without one (§6.2). */
function generatedIdentifier(
  traits: readonly (TraitRequest & { value: TypedTraitValue })[],
): string {
  if (traits.length === 0) return randomUUID().replaceAll('-', '');
  const sorted = [...traits].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return sha256Hex(sorted.map((t) => `${t.key}${traitValueText(t.value)}`).join(''));
}

/**
 * Identities for the SDK endpoints: evaluation on the cached document, and the persistence
 * rules of Flagsmith's `/identities/` (sdk-rest-api.md §6). Traits are written only when
 * they change, all of a request's writes in one transaction.
 */
export class SdkIdentities {
  private readonly reader: IdentityReader;

  /** `answers`: where identity responses are remembered. */
  constructor(
    private readonly orm: MikroORM,
    private readonly answers: AnswerCache,
  ) {
    this.reader = new IdentityReader(orm);
  }

  /** `POST /api/v1/identities/`. */
  async identify(
    entry: CachedEnvironment,
    origin: KeyOrigin,
    request: IdentifyRequest,
  ): Promise<IdentityAnswer> {
    const { document } = entry;
    const traits = !document.allow_client_traits && origin === 'CLIENT' ? [] : request.traits;
    const given = traits.filter(withValue);
    try {
      return await this.identifyStored(entry, origin, request, traits, given);
    } catch (err) {
      if (!isDatabaseUnavailable(err) || request.identifier === null) throw err;
      // The database is unreachable: evaluate with what the request sent, store nothing.
      const list = overlay(
        [],
        given.map((t) => unsaved(t, request.transient || t.transient)),
      );
      return this.respond(entry, origin, this.unstored(entry, request.identifier, list), true);
    }
  }

  /** What an identity is known as without the database: its overrides in the document. */
  private unstored(
    entry: CachedEnvironment,
    identifier: string,
    traits: readonly TraitObject[],
  ): Subject {
    const identityId = entry.identityOverrides.get(identifier)?.identityId ?? null;
    return { identifier, identityId, traits, withOverrides: true };
  }

  private async identifyStored(
    entry: CachedEnvironment,
    origin: KeyOrigin,
    request: IdentifyRequest,
    traits: readonly TraitRequest[],
    given: readonly (TraitRequest & { value: TypedTraitValue })[],
  ): Promise<IdentityAnswer> {
    const { document } = entry;
    let subject: Subject;

    if (request.identifier === null) {
      // Fully transient: nothing stored, no overrides, every trait transient.
      const identifier = generatedIdentifier(given);
      const list = overlay(
        [],
        given.map((t) => unsaved(t, true)),
      );
      subject = { identifier, identityId: undefined, traits: list, withOverrides: false };
    } else if (request.transient) {
      const found = await this.read(document.id, request.identifier);
      const list = overlay(
        (found?.traits ?? []).map(stored),
        given.map((t) => unsaved(t, true)),
      );
      subject = {
        identifier: request.identifier,
        identityId: found?.identityId,
        traits: list,
        withOverrides: found !== null,
      };
    } else {
      const persist = document.project.organisation.persist_trait_data;
      const writes = persist ? traits.filter((t) => !t.transient) : [];
      const { identityId, traits: rows } = await this.store(
        document.id,
        request.identifier,
        writes,
      );
      // Traits not stored still count for this evaluation (request wins on a clash).
      const extra = persist
        ? given.filter((t) => t.transient).map((t) => unsaved(t, true))
        : given.map((t) => unsaved(t, t.transient));
      const dropped = persist
        ? new Set<string>()
        : new Set(traits.filter((t) => !withValue(t)).map((t) => t.key));
      const list = overlay(
        rows.map(stored).filter((t) => !dropped.has(t.trait_key)),
        extra,
      );
      subject = { identifier: request.identifier, identityId, traits: list, withOverrides: true };
    }
    return this.respond(entry, origin, subject);
  }

  /**
   * `GET /api/v1/identities/?identifier=…`: a transient lookup persists nothing and ignores
   * stored traits and overrides; otherwise the identity is fetched or created.
   */
  async get(
    entry: CachedEnvironment,
    origin: KeyOrigin,
    identifier: string,
    transient: boolean,
  ): Promise<IdentityAnswer> {
    let subject: Subject;
    if (transient) {
      subject = { identifier, identityId: null, traits: [], withOverrides: false };
    } else {
      try {
        const { identityId, traits } = await this.store(entry.document.id, identifier, []);
        subject = { identifier, identityId, traits: traits.map(stored), withOverrides: true };
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        return this.respond(entry, origin, this.unstored(entry, identifier, []), true);
      }
    }
    return this.respond(entry, origin, subject);
  }

  private respond(
    entry: CachedEnvironment,
    origin: KeyOrigin,
    subject: Subject,
    degraded = false,
  ): IdentityAnswer {
    const options = { clientKey: origin === 'CLIENT', identifier: subject.identifier };
    return {
      json: () => {
        const traitsJson = JSON.stringify(subject.traits);
        // Everything the answer depends on besides the document (whose serial is first).
        const key = `identity|${entry.serial}|${origin}|${subject.withOverrides ? 1 : 0}|${
          subject.identityId ?? ''
        }|${JSON.stringify(subject.identifier)}|${traitsJson}`;
        const known = this.answers.get(key);
        if (known !== undefined) return known;
        const result = this.evaluate(entry, subject);
        const flags = identityFlagsJson(entry, result, options);
        const traits = entry.document.hide_sensitive_data ? '[]' : traitsJson;
        const answer = Buffer.from(
          `{"identifier":${JSON.stringify(subject.identifier)},"traits":${traits},"flags":${flags}}`,
        );
        this.answers.set(key, answer);
        return answer;
      },
      flag: (name) =>
        toFlagObjects(entry, this.evaluate(entry, subject), options).find(
          (f) => f.feature.name === name,
        ),
      degraded,
    };
  }

  /**
   * Runs the engine for one identity. The hashing key is the composite
   * `<api key>_<identifier>`, or the identity's id when the environment says so and the
   * identity is stored. Identity overrides apply only when `withOverrides`.
   */
  private evaluate(entry: CachedEnvironment, subject: Subject): EvaluationResult {
    const { identifier, identityId, traits, withOverrides } = subject;
    const key =
      identityId != null && !entry.document.use_identity_composite_key_for_hashing
        ? String(identityId)
        : undefined;
    const traitMap = Object.fromEntries(
      traits.map((t): [string, TraitValue] => [t.trait_key, t.trait_value]),
    );
    return evaluate({
      ...entry.context,
      identity: { identifier, ...(key !== undefined && { key }), traits: traitMap },
      segments: withOverrides ? entry.context.segments : entry.segmentsWithoutIdentityOverrides,
    });
  }

  /** The stored identity and its traits, by id; null when there is no such identity. */
  private read(environmentId: number, identifier: string): Promise<StoredIdentity | null> {
    return this.reader.read(environmentId, identifier);
  }

  /**
   * Fetches or creates the identity and applies trait writes (null deletes), in one
   * transaction and only when something changes. Returns the stored traits afterwards.
   */
  private async store(
    environmentId: number,
    identifier: string,
    writes: readonly TraitRequest[],
  ): Promise<StoredIdentity> {
    const found = await this.read(environmentId, identifier);
    if (found) {
      const byKey = new Map(found.traits.map((r) => [r.key, r]));
      const changes = writes.some((w) => {
        const row = byKey.get(w.key);
        return w.value === null ? row !== undefined : !row || !holds(row, w.value);
      });
      if (!changes) return found;
      try {
        return await this.update(found, writes);
      } catch (err) {
        // The identity went away meanwhile, or a trait was written concurrently: the full
        // transaction below creates and merges as needed.
        if (!(err instanceof ConstraintViolationException)) throw err;
      }
    }
    try {
      return await this.write(environmentId, identifier, writes);
    } catch (err) {
      // A concurrent request created the same identity or trait first: once more.
      if (err instanceof UniqueConstraintViolationException)
        return this.write(environmentId, identifier, writes);
      throw err;
    }
  }

  /**
   * Applies the changing writes to a stored identity with one statement: deletes, and an
   * upsert of the traits that are new or hold another value. Returns the traits after it.
   */
  private async update(
    found: StoredIdentity,
    writes: readonly TraitRequest[],
  ): Promise<StoredIdentity> {
    const byKey = new Map(found.traits.map((r) => [r.key, r]));
    // The last write of a key wins, as when they are applied in turn.
    const last = new Map(writes.map((w) => [w.key, w]));
    const deletes: string[] = [];
    const upserts: TraitRequest[] = [];
    for (const w of last.values()) {
      const row = byKey.get(w.key);
      if (w.value === null) {
        if (row) deletes.push(w.key);
      } else if (!row || !holds(row, w.value)) upserts.push(w);
    }
    const params: unknown[] = [];
    const parts: string[] = [];
    if (deletes.length > 0) {
      params.push(found.identityId, ...deletes);
      parts.push(
        `deleted as (delete from traits where identity_id = ? and key in (${deletes.map(() => '?').join(', ')}))`,
      );
    }
    let select = 'select 1 where false';
    if (upserts.length > 0) {
      const values = upserts.map((w) => {
        const c = traitColumns(w.value!);
        params.push(
          found.identityId,
          w.key,
          c.valueType,
          c.stringValue,
          c.integerValue,
          c.booleanValue,
          c.floatValue,
        );
        return '(?, ?, ?, ?, ?, ?, ?)';
      });
      parts.push(`upserted as (insert into traits (identity_id, key, value_type, string_value,
        integer_value, boolean_value, float_value) values ${values.join(', ')}
        on conflict (identity_id, key) do update set value_type = excluded.value_type,
          string_value = excluded.string_value, integer_value = excluded.integer_value,
          boolean_value = excluded.boolean_value, float_value = excluded.float_value
        returning id, key, value_type, string_value, integer_value::text as integer_value,
          boolean_value, float_value)`);
      select = 'select * from upserted';
    }
    const rows: TraitRow[] = await this.orm.em
      .getConnection()
      .execute(`with ${parts.join(', ')} ${select}`, params, 'all');
    for (const key of deletes) byKey.delete(key);
    for (const r of rows) byKey.set(r.key, storedTraitOf(r));
    const traits = [...byKey.values()].sort((a, b) => a.id - b.id);
    return { identityId: found.identityId, traits };
  }

  private async write(
    environmentId: number,
    identifier: string,
    writes: readonly TraitRequest[],
  ): Promise<StoredIdentity> {
    const { identity, rows } = await this.orm.em
      .fork()
      .transactional((tx) => writeTraits(tx, environmentId, identifier, writes));
    return { identityId: identity.id, traits: rows };
  }
}

/**
 * Fetches or creates an identity and applies trait writes (null deletes; unchanged values
 * are left alone) inside the caller's transaction. Returns the stored traits afterwards, by id.
 */
export async function writeTraits(
  tx: EntityManager,
  environmentId: number,
  identifier: string,
  writes: readonly TraitRequest[],
): Promise<{ identity: Identity; rows: Trait[] }> {
  const found = await tx.findOne(Identity, { environment: environmentId, identifier });
  const identity = found ?? tx.create(Identity, { environment: environmentId, identifier });
  const current = found ? await tx.find(Trait, { identity }, { orderBy: { id: 'asc' } }) : [];
  const byKey = new Map(current.map((r) => [r.key, r]));
  for (const w of writes) {
    const row = byKey.get(w.key);
    if (w.value === null) {
      if (row) tx.remove(row);
      byKey.delete(w.key);
    } else if (row) {
      if (!holds(row, w.value)) Object.assign(row, traitColumns(w.value));
    } else {
      byKey.set(w.key, tx.create(Trait, { identity, key: w.key, ...traitColumns(w.value) }));
    }
  }
  await tx.flush();
  const rows = [...byKey.values()].sort((a, b) => a.id - b.id);
  return { identity, rows };
}
