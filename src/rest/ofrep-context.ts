import { TRAIT_STRING_LIMIT, type TypedTraitValue } from '../identities/trait-value';
import {
  IDENTIFIER_LIMIT,
  isObject,
  TRAIT_KEY_LIMIT,
  TRAIT_LIMIT,
  typeTraitValue,
} from './identify-request';

/**
 * OFREP's evaluation request (`{context: {targetingKey, …}}`) read into Flagsmith's terms:
 * `targetingKey` is the identity's identifier and every other context field a trait, with
 * the limits and typing of `POST /api/v1/identities/`.
 */

/** OFREP's error codes for a request it cannot evaluate. */
export type OfrepRequestError = 'PARSE_ERROR' | 'INVALID_CONTEXT' | 'TARGETING_KEY_MISSING';

export interface OfrepContext {
  /** The trimmed `targetingKey`, or null when absent or blank: environment-level flags. */
  readonly identifier: string | null;
  /** The other fields with a value, in request order (null values are left out). */
  readonly traits: readonly (readonly [key: string, value: TypedTraitValue])[];
}

export type ParsedContext =
  | { readonly ok: true; readonly value: OfrepContext }
  | { readonly ok: false; readonly code: OfrepRequestError; readonly details: string };

const invalid = (details: string): ParsedContext => ({
  ok: false,
  code: 'INVALID_CONTEXT',
  details,
});

/**
 * Reads an OFREP request body. A body that is not a JSON object is a PARSE_ERROR; a context
 * that is not an object, a non-string `targetingKey`, or a field past the identities API's
 * limits is INVALID_CONTEXT; fields without a `targetingKey` are TARGETING_KEY_MISSING
 * (Flagsmith evaluates traits only for an identity).
 */
export function parseOfrepRequest(body: unknown): ParsedContext {
  if (!isObject(body)) {
    return { ok: false, code: 'PARSE_ERROR', details: 'The request body must be a JSON object.' };
  }
  const context = body.context ?? {};
  if (!isObject(context)) return invalid('The context must be a JSON object.');

  let identifier: string | null = null;
  const targetingKey = context.targetingKey;
  if (typeof targetingKey === 'string') {
    const text = targetingKey.trim();
    if (text.length > IDENTIFIER_LIMIT) {
      return invalid(`The targetingKey must have at most ${IDENTIFIER_LIMIT} characters.`);
    }
    identifier = text === '' ? null : text;
  } else if (targetingKey !== undefined && targetingKey !== null) {
    return invalid('The targetingKey must be a string.');
  }

  const traits: [string, TypedTraitValue][] = [];
  for (const [rawKey, raw] of Object.entries(context)) {
    if (rawKey === 'targetingKey' || raw === null || raw === undefined) continue;
    const key = rawKey.trim();
    if (key === '') return invalid('Context field names may not be blank.');
    if (key.length > TRAIT_KEY_LIMIT) {
      return invalid(`Context field names must have at most ${TRAIT_KEY_LIMIT} characters.`);
    }
    const value = typeTraitValue(raw);
    if (typeof value.value === 'string' && value.value.length > TRAIT_STRING_LIMIT) {
      return invalid(
        `The value of context field "${key}" must be shorter than ${TRAIT_STRING_LIMIT} characters.`,
      );
    }
    traits.push([key, value]);
  }
  if (traits.length > TRAIT_LIMIT) {
    return invalid(`The context may have at most ${TRAIT_LIMIT} fields.`);
  }
  if (identifier === null && traits.length > 0) {
    return {
      ok: false,
      code: 'TARGETING_KEY_MISSING',
      details: 'Context fields are evaluated as traits of an identity: a targetingKey is required.',
    };
  }
  return { ok: true, value: { identifier, traits } };
}
