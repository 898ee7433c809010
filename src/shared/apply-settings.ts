import { ValidationError } from './errors';

/**
 * Copies the settings present in `input` onto `target`. `undefined` means "leave as is";
 * `null` is accepted only for keys listed in `nullable`.
 */
export function applySettings<T extends object, K extends keyof T & string>(
  target: T,
  input: Partial<Record<K, unknown>>,
  keys: readonly K[],
  nullable: readonly K[] = [],
): void {
  for (const key of keys) {
    const value = input[key];
    if (value === undefined) continue;
    if (value === null && !nullable.includes(key))
      throw new ValidationError(`input.${key}`, 'must not be null');
    target[key] = value as T[K];
  }
}

/** A plain record of the listed keys (audit before/after). */
export function pick<T extends object, K extends keyof T & string>(
  source: T,
  keys: readonly K[],
): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, source[k] ?? null]));
}
