import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADERS,
  deliverySignature,
  flagsmithSignature,
  verifyDelivery,
} from '../../src/webhooks/signing';

// Vectors computed independently with CPython 3.11 (`hmac.new(key, msg, hashlib.sha256)`).
const PY_SECRET_A1 = '9efa14a18410a57a432fbf0ce38d4bc33339036a64e57b8c86da0bb1e122d972'; // b'secret', b'{"a": 1}'
const PY_UNICODE_SECRET = '5d1e7f90c2ce4f18bbff1c092eab10e4bf90a34845c3ce5bb097c5030c336bd8'; // 'sécret-🔑'.encode()
const PY_BINARY = '57d90e945a9a2796c0460f517ef82fab222ffb5d9e11a021d4417c727db5d31c'; // b'k', b'\xff\x00binary\xfe'
// 'v1=' + hmac(b'whsec_test', b'1700000000.d3b07384-d9a0-4c9f-8f2e-1a2b3c4d5e6f.{"a": 1}')
const PY_DELIVERY = 'v1=bf97cbe8464f5a45e7d808b3d835630b7567800a7485a46bfcc8c62d406fd409';

const SECRET = 'whsec_test';
const DELIVERY_ID = 'd3b07384-d9a0-4c9f-8f2e-1a2b3c4d5e6f';
const TIMESTAMP = 1700000000;
const BODY = '{"a": 1}';

function headersFor(
  body: string | Buffer = BODY,
  deliveryId = DELIVERY_ID,
  timestamp = TIMESTAMP,
  secret = SECRET,
): Record<string, string | string[] | undefined> {
  return {
    'content-type': 'application/json',
    'x-flagward-delivery': deliveryId,
    'x-flagward-timestamp': String(timestamp),
    'x-flagward-signature': deliverySignature(secret, deliveryId, timestamp, body),
    'x-flagward-event': 'FLAG_UPDATED',
    'x-flagsmith-signature': flagsmithSignature(secret, body),
  };
}

describe('flagsmithSignature', () => {
  it('matches HMAC-SHA256 vectors computed with Python', () => {
    expect(flagsmithSignature('secret', '{"a": 1}')).toBe(PY_SECRET_A1);
    expect(flagsmithSignature('secret', Buffer.from('{"a": 1}'))).toBe(PY_SECRET_A1);
    expect(
      flagsmithSignature(
        'sécret-🔑',
        '{"data": {"name": "caf\\u00e9"}, "event_type": "FLAG_UPDATED"}',
      ),
    ).toBe(PY_UNICODE_SECRET);
  });

  it('signs the exact bytes of a Buffer body, even when not valid UTF-8', () => {
    expect(flagsmithSignature('k', Buffer.from([0xff, 0x00, ...Buffer.from('binary'), 0xfe]))).toBe(
      PY_BINARY,
    );
  });
});

describe('deliverySignature', () => {
  it('matches a vector computed with Python', () => {
    expect(deliverySignature(SECRET, DELIVERY_ID, TIMESTAMP, BODY)).toBe(PY_DELIVERY);
    expect(deliverySignature(SECRET, DELIVERY_ID, TIMESTAMP, Buffer.from(BODY))).toBe(PY_DELIVERY);
  });

  it('depends on the delivery id and the timestamp', () => {
    expect(deliverySignature(SECRET, 'other', TIMESTAMP, BODY)).not.toBe(PY_DELIVERY);
    expect(deliverySignature(SECRET, DELIVERY_ID, TIMESTAMP + 1, BODY)).not.toBe(PY_DELIVERY);
  });
});

describe('DELIVERY_HEADERS', () => {
  it('names the headers', () => {
    expect(DELIVERY_HEADERS).toEqual({
      id: 'X-Flagward-Delivery',
      timestamp: 'X-Flagward-Timestamp',
      signature: 'X-Flagward-Signature',
      event: 'X-Flagward-Event',
      flagsmithSignature: 'X-Flagsmith-Signature',
    });
  });
});

describe('verifyDelivery', () => {
  it('accepts a correct delivery', () => {
    expect(
      verifyDelivery({ secret: SECRET, body: BODY, headers: headersFor(), now: TIMESTAMP + 10 }),
    ).toEqual({ ok: true, deliveryId: DELIVERY_ID, timestamp: TIMESTAMP });
    expect(
      verifyDelivery({
        secret: SECRET,
        body: Buffer.from(BODY),
        headers: headersFor(),
        now: TIMESTAMP - 300,
      }),
    ).toEqual({ ok: true, deliveryId: DELIVERY_ID, timestamp: TIMESTAMP });
  });

  it('uses the system clock by default', () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = headersFor(BODY, DELIVERY_ID, now);
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers }).ok).toBe(true);
  });

  it('rejects a changed body', () => {
    expect(
      verifyDelivery({ secret: SECRET, body: '{"a": 2}', headers: headersFor(), now: TIMESTAMP }),
    ).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('rejects a changed delivery id', () => {
    const headers = { ...headersFor(), 'x-flagward-delivery': 'another-delivery' };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('rejects a changed timestamp', () => {
    const headers = { ...headersFor(), 'x-flagward-timestamp': String(TIMESTAMP + 1) };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('rejects a wrong secret and a wrong Flagsmith signature', () => {
    expect(
      verifyDelivery({ secret: 'other', body: BODY, headers: headersFor(), now: TIMESTAMP }),
    ).toEqual({ ok: false, reason: 'signature mismatch' });
    const headers = { ...headersFor(), 'x-flagsmith-signature': flagsmithSignature('x', BODY) };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });

  it('rejects a replay outside the tolerance window', () => {
    const input = { secret: SECRET, body: BODY, headers: headersFor() };
    expect(verifyDelivery({ ...input, now: TIMESTAMP + 301 })).toEqual({
      ok: false,
      reason: 'timestamp outside tolerance',
    });
    expect(verifyDelivery({ ...input, now: TIMESTAMP - 301 })).toEqual({
      ok: false,
      reason: 'timestamp outside tolerance',
    });
    expect(verifyDelivery({ ...input, now: TIMESTAMP + 61, toleranceSeconds: 60 })).toEqual({
      ok: false,
      reason: 'timestamp outside tolerance',
    });
    expect(verifyDelivery({ ...input, now: TIMESTAMP + 3600, toleranceSeconds: 3600 }).ok).toBe(
      true,
    );
  });

  it('rejects a non-integer timestamp', () => {
    for (const bad of ['1700000000.5', 'abc', '-1700000000', '1e9', ' 1700000000']) {
      const headers = { ...headersFor(), 'x-flagward-timestamp': bad };
      expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
        ok: false,
        reason: 'invalid X-Flagward-Timestamp header',
      });
    }
  });

  it.each([
    ['x-flagward-signature', 'X-Flagward-Signature'],
    ['x-flagward-delivery', 'X-Flagward-Delivery'],
    ['x-flagward-timestamp', 'X-Flagward-Timestamp'],
    ['x-flagsmith-signature', 'X-Flagsmith-Signature'],
  ])('rejects a missing %s header', (lower, name) => {
    const headers = { ...headersFor(), [lower]: undefined };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: `missing ${name} header`,
    });
  });

  it('treats a repeated signature header as missing', () => {
    const good = headersFor();
    const signature = good['x-flagward-signature'] as string;
    const headers = { ...good, 'x-flagward-signature': [signature, signature] };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: 'missing X-Flagward-Signature header',
    });
  });

  it('rejects a signature of a different length without throwing', () => {
    const headers = { ...headersFor(), 'x-flagward-signature': 'v1=abc' };
    expect(verifyDelivery({ secret: SECRET, body: BODY, headers, now: TIMESTAMP })).toEqual({
      ok: false,
      reason: 'signature mismatch',
    });
  });
});
