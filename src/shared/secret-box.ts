import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION_PREFIX = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HKDF_SALT = 'flagward';
const HKDF_INFO = 'webhook-secret/v1';
const DECRYPT_ERROR = 'sealed value cannot be decrypted (was SECRET_KEY changed?)';

/**
 * Encrypts secrets the server must read back (webhook signing secrets, TOTP seeds) at rest.
 *
 * The AES-256-GCM key is derived from the server's master key with HKDF-SHA256
 * (salt `flagward`, info `webhook-secret/v1`, the name it had when webhooks were its only use;
 * kept so sealed values stay readable). A sealed value is
 * `'v1.' + base64url(12-byte random IV ‖ 16-byte GCM tag ‖ ciphertext)`.
 *
 * `context` (e.g. `webhook:12`, `totp:7`) is authenticated as GCM additional data, so a sealed value only
 * opens with the same context: copying one row's ciphertext into another row fails to decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    if (!masterKey) throw new Error('SecretBox needs a non-empty master key');
    this.key = Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, HKDF_INFO, KEY_BYTES));
  }

  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return VERSION_PREFIX + Buffer.concat([iv, tag, ciphertext]).toString('base64url');
  }

  /** Throws `Error('sealed value cannot be decrypted …')` for any tampered or foreign input. */
  open(sealed: string, context = ''): string {
    if (typeof sealed !== 'string' || !sealed.startsWith(VERSION_PREFIX)) {
      throw new Error(DECRYPT_ERROR);
    }
    const encoded = sealed.slice(VERSION_PREFIX.length);
    // Buffer's base64url decoder silently skips invalid characters; insist on canonical input.
    if (!/^[A-Za-z0-9_-]*$/.test(encoded)) throw new Error(DECRYPT_ERROR);
    const raw = Buffer.from(encoded, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES || raw.toString('base64url') !== encoded) {
      throw new Error(DECRYPT_ERROR);
    }
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const ciphertext = raw.subarray(IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    } catch {
      throw new Error(DECRYPT_ERROR);
    }
  }
}
