import { pythonFloatRepr, pythonRepr } from '../engine/python';
import { TraitValueType } from '../identities/identity.entity';
import { TRAIT_STRING_LIMIT, type TypedTraitValue } from '../identities/trait-value';

/** One trait of `POST /identities/`; a null value deletes the stored trait. */
export interface TraitRequest {
  readonly key: string;
  readonly value: TypedTraitValue | null;
  readonly transient: boolean;
}

export interface IdentifyRequest {
  /** Null when missing or blank: a fully transient identity. */
  readonly identifier: string | null;
  readonly transient: boolean;
  readonly traits: readonly TraitRequest[];
}

/** DRF's field error format: field → messages, nested per list item. */
export type FieldErrors = { [field: string]: string[] | FieldErrors[] };

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldErrors };

/** Limits of Flagsmith's identity and trait fields, shared by every SDK endpoint. */
export const IDENTIFIER_LIMIT = 2000;
export const TRAIT_KEY_LIMIT = 200;
export const TRAIT_LIMIT = 1000;

/** DRF's field error messages. */
export const REQUIRED = 'This field is required.';
export const NOT_NULL = 'This field may not be null.';
export const NOT_BLANK = 'This field may not be blank.';
export const NOT_STRING = 'Not a valid string.';
export const NOT_BOOLEAN = 'Must be a valid boolean.';
export const tooLong = (n: number): string => `Ensure this field has no more than ${n} characters.`;
/** DRF's `ProhibitNullCharactersValidator` (every CharField): PostgreSQL text cannot hold NUL. */
export const NULL_CHARACTERS = 'Null characters are not allowed.';
export const hasNul = (text: string): boolean => text.includes('\u0000');

/** Why a text column cannot take `text`: longer than `limit`, or a NUL (PostgreSQL text holds none). */
export function textProblem(text: string, limit: number): string | null {
  if (text.length > limit) return tooLong(limit);
  return hasNul(text) ? NULL_CHARACTERS : null;
}

/** Why a trait value cannot be stored (a string too long, or holding a NUL), or null. */
export function traitValueProblem(value: TypedTraitValue): string | null {
  if (typeof value.value !== 'string') return null;
  if (value.value.length > TRAIT_STRING_LIMIT) {
    return `Value string is too long. Must be less than ${TRAIT_STRING_LIMIT} character`;
  }
  return hasNul(value.value) ? NULL_CHARACTERS : null;
}

/** Python's type names, as DRF quotes them. */
export function pythonType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    default:
      return 'dict';
  }
}

/** A JSON object (what DRF calls a dictionary): not null, not an array. */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const TRUE = new Set<unknown>([
  true,
  1,
  'true',
  'True',
  'TRUE',
  't',
  'T',
  'yes',
  'Yes',
  'YES',
  'y',
  'Y',
  'on',
  'On',
  'ON',
  '1',
]);
const FALSE = new Set<unknown>([
  false,
  0,
  'false',
  'False',
  'FALSE',
  'f',
  'F',
  'no',
  'No',
  'NO',
  'n',
  'N',
  'off',
  'Off',
  'OFF',
  '0',
]);

/** DRF's BooleanField. */
function parseBoolean(value: unknown): boolean | undefined {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  return undefined;
}

/**
 * A trait value as Flagsmith's `TraitValueField` takes it: booleans, integers, floats and
 * strings as such; anything else (objects, lists) as its Python `str()`. JSON has already
 * lost the difference between `2` and `2.0`: whole numbers are integers.
 */
export function typeTraitValue(value: unknown): TypedTraitValue {
  if (typeof value === 'boolean') return { type: TraitValueType.bool, value };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value)
      ? { type: TraitValueType.int, value }
      : { type: TraitValueType.float, value };
  }
  if (typeof value === 'string') return { type: TraitValueType.unicode, value };
  return { type: TraitValueType.unicode, value: pythonRepr(value) };
}

/** Python's `str()` of a typed trait value (for generated identifiers). */
export function traitValueText(value: TypedTraitValue): string {
  switch (value.type) {
    case TraitValueType.bool:
      return value.value ? 'True' : 'False';
    case TraitValueType.float:
      return pythonFloatRepr(Number(value.value));
    default:
      return String(value.value);
  }
}

function parseTrait(item: unknown): Parsed<TraitRequest> {
  if (!isObject(item)) {
    return {
      ok: false,
      errors: {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(item)}.`],
      },
    };
  }
  const errors: FieldErrors = {};
  const key = item.trait_key;
  if (key === undefined) errors.trait_key = [REQUIRED];
  else if (key === null) errors.trait_key = [NOT_NULL];
  else if (typeof key !== 'string' && typeof key !== 'number') errors.trait_key = [NOT_STRING];
  else if (String(key).trim() === '') errors.trait_key = [NOT_BLANK];
  else {
    const problem = textProblem(String(key), TRAIT_KEY_LIMIT);
    if (problem) errors.trait_key = [problem];
  }

  let value: TypedTraitValue | null = null;
  if (!('trait_value' in item)) errors.trait_value = [REQUIRED];
  else if (item.trait_value !== null) {
    value = typeTraitValue(item.trait_value);
    const problem = traitValueProblem(value);
    if (problem) errors.trait_value = [problem];
  }
  let transient = false;
  if (item.transient !== undefined && item.transient !== null) {
    const parsed = parseBoolean(item.transient);
    if (parsed === undefined) errors.transient = [NOT_BOOLEAN];
    else transient = parsed;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { key: String(key).trim(), value, transient } };
}

/** Validates a `POST /api/v1/identities/` body (Flagsmith's `IdentifyWithTraitsSerializer`). */
export function parseIdentifyRequest(body: unknown): Parsed<IdentifyRequest> {
  if (!isObject(body)) {
    return {
      ok: false,
      errors: {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(body)}.`],
      },
    };
  }
  const errors: FieldErrors = {};

  let identifier: string | null = null;
  const rawIdentifier = body.identifier;
  if (typeof rawIdentifier === 'string' || typeof rawIdentifier === 'number') {
    const text = String(rawIdentifier).trim();
    const problem = textProblem(text, IDENTIFIER_LIMIT);
    if (problem) errors.identifier = [problem];
    identifier = text === '' ? null : text;
  } else if (rawIdentifier !== undefined && rawIdentifier !== null) {
    errors.identifier = [NOT_STRING];
  }

  let transient = false;
  if (body.transient !== undefined && body.transient !== null) {
    const parsed = parseBoolean(body.transient);
    if (parsed === undefined) errors.transient = [NOT_BOOLEAN];
    else transient = parsed;
  }

  const traits: TraitRequest[] = [];
  const rawTraits = body.traits;
  if (rawTraits !== undefined && rawTraits !== null) {
    if (!Array.isArray(rawTraits)) {
      errors.traits = [`Expected a list of items but got type "${pythonType(rawTraits)}".`];
    } else if (rawTraits.length > TRAIT_LIMIT) {
      errors.traits = [`Ensure this field has no more than ${TRAIT_LIMIT} elements.`];
    } else {
      const itemErrors: FieldErrors[] = [];
      let failed = false;
      for (const item of rawTraits) {
        const parsed = parseTrait(item);
        if (parsed.ok) {
          traits.push(parsed.value);
          itemErrors.push({});
        } else {
          failed = true;
          itemErrors.push(parsed.errors);
        }
      }
      if (failed) errors.traits = itemErrors;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { identifier, transient, traits } };
}
