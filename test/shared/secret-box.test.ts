import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/shared/secret-box';

const DECRYPT_ERROR = 'sealed value cannot be decrypted (was SECRET_KEY changed?)';

// Sealed independently with Python `cryptography` 48: HKDF-SHA256(b'test-master-key',
// salt=b'flagward', info=b'webhook-secret/v1', length=32), AES-GCM with IV bytes 0..11,
// plaintext 'whsec_héllo', AAD b'webhook:12', laid out as 'v1.' + base64url(iv ‖ tag ‖ ct).
const PY_SEALED = 'v1.AAECAwQFBgcICQoLrJ5p9D-18SuBjJ490plK9G_X_FdaRdUzad2xHA';

/** Flips one bit of the decoded payload at `index` and re-encodes. */
function tamper(sealed: string, index: number): string {
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw[index] = (raw[index] ?? 0) ^ 0x01;
  return 'v1.' + raw.toString('base64url');
}

describe('SecretBox', () => {
  const box = new SecretBox('test-master-key');

  it('round-trips, with and without a context', () => {
    for (const plaintext of ['whsec_abc123', '', 'ünïcødé 🔑', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(plaintext))).toBe(plaintext);
      expect(box.open(box.seal(plaintext, 'webhook:12'), 'webhook:12')).toBe(plaintext);
    }
  });

  it('produces the documented format', () => {
    const sealed = box.seal('abc');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed.slice(3), 'base64url')).toHaveLength(12 + 16 + 3);
  });

  it('opens a value sealed independently with Python', () => {
    expect(box.open(PY_SEALED, 'webhook:12')).toBe('whsec_héllo');
  });

  it('produces a different value on every seal', () => {
    const a = box.seal('same secret');
    const b = box.seal('same secret');
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe(box.open(b));
  });

  it('fails on a tampered IV, tag or ciphertext byte', () => {
    const sealed = box.seal('whsec_abc123', 'webhook:12');
    for (const index of [0, 11, 12, 27, 28, 28 + 11]) {
      expect(() => box.open(tamper(sealed, index), 'webhook:12')).toThrow(DECRYPT_ERROR);
    }
  });

  it('fails with another master key', () => {
    const sealed = box.seal('whsec_abc123');
    expect(() => new SecretBox('another-master-key').open(sealed)).toThrow(DECRYPT_ERROR);
    expect(new SecretBox('test-master-key').open(sealed)).toBe('whsec_abc123');
  });

  it('fails with another context', () => {
    const sealed = box.seal('whsec_abc123', 'webhook:12');
    expect(() => box.open(sealed, 'webhook:13')).toThrow(DECRYPT_ERROR);
    expect(() => box.open(sealed)).toThrow(DECRYPT_ERROR);
    expect(() => box.open(box.seal('whsec_abc123'), 'webhook:12')).toThrow(DECRYPT_ERROR);
  });

  it.each([
    ['empty string', ''],
    ['prefix only', 'v1.'],
    ['no prefix', PY_SEALED.slice(3)],
    ['unknown version', 'v2.' + PY_SEALED.slice(3)],
    ['plaintext', 'whsec_abc123'],
    ['too short', 'v1.' + Buffer.alloc(27).toString('base64url')],
    ['invalid characters', PY_SEALED + '!'],
    ['standard base64 characters', PY_SEALED.replace(/-/g, '+').replace(/_/g, '/')],
    ['padding', PY_SEALED + '='],
    ['truncated', PY_SEALED.slice(0, -2)],
    ['extra data', PY_SEALED + 'AA'],
  ])('fails on malformed input: %s', (_name, sealed) => {
    expect(() => box.open(sealed, 'webhook:12')).toThrow(DECRYPT_ERROR);
  });

  it('rejects an empty master key', () => {
    expect(() => new SecretBox('')).toThrow();
  });
});
