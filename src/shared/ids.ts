import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Flagsmith's shortuuid alphabet (base57: no 0, 1, I, O, l). */
const BASE57 = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A 22-character random base57 string, as Flagsmith's client keys are. */
export function shortUuid(length = 22): string {
  // Rejection sampling keeps the distribution uniform.
  const out: string[] = [];
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 57 * 4 && out.length < length) out.push(BASE57[byte % 57]!);
    }
  }
  return out.join('');
}

export const newUuid = (): string => randomUUID();

/** A random opaque secret (session ids, bearer tokens). */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** How secrets that must be looked up (tokens, API keys) are stored: SHA-256, hex. */
export const sha256Hex = (value: string): string =>
  createHash('sha256').update(value, 'utf8').digest('hex');
