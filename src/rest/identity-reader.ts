import type { MikroORM } from '@mikro-orm/core';
import type { Trait, TraitValueType } from '../identities/identity.entity';

/** A stored trait as the SDK endpoints read it (an entity, or a row read here). */
export type StoredTrait = Pick<
  Trait,
  'id' | 'key' | 'valueType' | 'stringValue' | 'integerValue' | 'booleanValue' | 'floatValue'
>;

export interface StoredIdentity {
  readonly identityId: number;
  /** By id. */
  readonly traits: readonly StoredTrait[];
}

/** A `traits` row as SQL returns it (`integer_value` read as text). */
export interface TraitRow {
  readonly id: number;
  readonly key: string;
  readonly value_type: TraitValueType;
  readonly string_value: string | null;
  readonly integer_value: string | null;
  readonly boolean_value: boolean | null;
  readonly float_value: number | null;
}

export function storedTraitOf(r: TraitRow): StoredTrait {
  return {
    id: r.id,
    key: r.key,
    valueType: r.value_type,
    stringValue: r.string_value,
    integerValue: r.integer_value,
    booleanValue: r.boolean_value,
    floatValue: r.float_value,
  };
}

interface Row {
  readonly identity_id: number;
  readonly identifier: string;
  readonly id: number | null;
  readonly key: string | null;
  readonly value_type: TraitValueType | null;
  readonly string_value: string | null;
  readonly integer_value: string | null;
  readonly boolean_value: boolean | null;
  readonly float_value: number | null;
}

interface Waiter {
  readonly resolve: (found: StoredIdentity | null) => void;
  readonly reject: (err: unknown) => void;
}

/** Most identifiers read by one query. */
const BATCH = 200;
/** Most reads in flight; later ones wait and go together in the next. */
const MAX_IN_FLIGHT = 2;

const query = (count: number): string =>
  `select i.id as identity_id, i.identifier, t.id, t.key, t.value_type, t.string_value,
  t.integer_value::text as integer_value, t.boolean_value, t.float_value
  from identities i left join traits t on t.identity_id = i.id
  where i.environment_id = ? and i.identifier in (${new Array<string>(count).fill('?').join(', ')})
  order by i.id, t.id`;

/**
 * Reads identities with their traits for the SDK endpoints. Reads asked for in the same
 * turn of the event loop are answered by one query per environment (up to 200
 * identifiers each), and while two such queries are in flight new reads wait to go
 * together in the next: idle, a read goes at once; under load, one database round trip
 * serves many requests.
 */
export class IdentityReader {
  private pending = new Map<number, Map<string, Waiter[]>>();
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly orm: MikroORM) {}

  /** The identity and its traits, or null when there is no such identity. */
  read(environmentId: number, identifier: string): Promise<StoredIdentity | null> {
    return new Promise((resolve, reject) => {
      let byIdentifier = this.pending.get(environmentId);
      if (!byIdentifier) this.pending.set(environmentId, (byIdentifier = new Map()));
      const waiters = byIdentifier.get(identifier);
      if (waiters) waiters.push({ resolve, reject });
      else byIdentifier.set(identifier, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.pending.size === 0) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [environmentId, byIdentifier] of pending) {
      const identifiers = [...byIdentifier.keys()];
      for (let i = 0; i < identifiers.length; i += BATCH) {
        const batch = identifiers.slice(i, i + BATCH);
        this.inFlight += 1;
        this.load(environmentId, batch)
          .finally(() => {
            this.inFlight -= 1;
            this.schedule();
          })
          .then(
            (found) => {
              for (const identifier of batch)
                for (const w of byIdentifier.get(identifier)!)
                  w.resolve(found.get(identifier) ?? null);
            },
            (err: unknown) => {
              for (const identifier of batch)
                for (const w of byIdentifier.get(identifier)!) w.reject(err);
            },
          );
      }
    }
  }

  private async load(
    environmentId: number,
    identifiers: readonly string[],
  ): Promise<Map<string, StoredIdentity>> {
    const rows: Row[] = await this.orm.em
      .getConnection()
      .execute(query(identifiers.length), [environmentId, ...identifiers], 'all');
    const found = new Map<string, { identityId: number; traits: StoredTrait[] }>();
    for (const r of rows) {
      let identity = found.get(r.identifier);
      if (!identity)
        found.set(r.identifier, (identity = { identityId: r.identity_id, traits: [] }));
      if (r.id === null || r.key === null || r.value_type === null) continue;
      identity.traits.push(storedTraitOf({ ...r, id: r.id, key: r.key, value_type: r.value_type }));
    }
    return found;
  }
}
