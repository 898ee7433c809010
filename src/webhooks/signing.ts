/**
 * Webhook signatures.
 *
 * Every delivery carries two HMAC-SHA256 signatures keyed with the webhook's secret (UTF-8):
 *
 * - `X-Flagsmith-Signature`: lowercase hex HMAC of the exact body bytes — what Flagsmith sends,
 *   so receivers written for Flagsmith keep working unchanged.
 * - `X-Flagward-Signature`: `v1=` + lowercase hex HMAC of `` `${timestamp}.${deliveryId}.` ``
 *   followed by the body bytes, sent together with `X-Flagward-Delivery` (a unique id) and
 *   `X-Flagward-Timestamp` (unix seconds). Because it covers the id and the time, a receiver can
 *   reject stale deliveries (outside a tolerance window) and de-duplicate by delivery id, which
 *   the body-only signature cannot prevent.
 *
 * Receivers can use {@link verifyDelivery}, which checks both signatures in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DELIVERY_HEADERS = {
  id: 'X-Flagward-Delivery',
  timestamp: 'X-Flagward-Timestamp',
  signature: 'X-Flagward-Signature',
  event: 'X-Flagward-Event',
  flagsmithSignature: 'X-Flagsmith-Signature',
} as const;

/** Default accepted clock difference for {@link verifyDelivery}, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const DELIVERY_SIGNATURE_VERSION = 'v1=';

/** `X-Flagsmith-Signature`: lowercase hex HMAC-SHA256(secret, body bytes). */
export function flagsmithSignature(secret: string, body: Buffer | string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(toBytes(body)).digest('hex');
}

/**
 * `X-Flagward-Signature`: `'v1=' + ` lowercase hex HMAC-SHA256(secret,
 * `` `${timestamp}.${deliveryId}.` `` ‖ body bytes).
 */
export function deliverySignature(
  secret: string,
  deliveryId: string,
  timestamp: number,
  body: Buffer | string,
): string {
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  hmac.update(Buffer.from(`${timestamp}.${deliveryId}.`, 'utf8'));
  hmac.update(toBytes(body));
  return DELIVERY_SIGNATURE_VERSION + hmac.digest('hex');
}

export type VerifyDeliveryResult =
  { ok: true; deliveryId: string; timestamp: number } | { ok: false; reason: string };

export interface VerifyDeliveryInput {
  secret: string;
  /** The raw request body, exactly as received (do not re-serialise parsed JSON). */
  body: Buffer | string;
  /** Request headers with lower-case names, as Node's `IncomingMessage#headers` has them. */
  headers: Record<string, string | string[] | undefined>;
  /** Maximum accepted |now − timestamp| in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: the system clock. */
  now?: number;
}

/**
 * Receiver-side check of a delivery: both signature headers must be present and match, and
 * `X-Flagward-Timestamp` must be an integer within `toleranceSeconds` of `now`. On success
 * returns the delivery id, which receivers should remember (for at least the tolerance window)
 * to drop repeated deliveries.
 */
export function verifyDelivery(input: VerifyDeliveryInput): VerifyDeliveryResult {
  const { secret, body, headers } = input;
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = input.now ?? Math.floor(Date.now() / 1000);

  const deliveryId = header(headers, DELIVERY_HEADERS.id);
  const timestampText = header(headers, DELIVERY_HEADERS.timestamp);
  const signature = header(headers, DELIVERY_HEADERS.signature);
  const legacySignature = header(headers, DELIVERY_HEADERS.flagsmithSignature);
  if (deliveryId === undefined) return missing(DELIVERY_HEADERS.id);
  if (timestampText === undefined) return missing(DELIVERY_HEADERS.timestamp);
  if (signature === undefined) return missing(DELIVERY_HEADERS.signature);
  if (legacySignature === undefined) return missing(DELIVERY_HEADERS.flagsmithSignature);

  if (!/^\d{1,15}$/.test(timestampText)) {
    return { ok: false, reason: `invalid ${DELIVERY_HEADERS.timestamp} header` };
  }
  const timestamp = Number(timestampText);
  if (!(Math.abs(now - timestamp) <= tolerance)) {
    return { ok: false, reason: 'timestamp outside tolerance' };
  }

  const bytes = toBytes(body);
  const deliveryOk = safeEqual(signature, deliverySignature(secret, deliveryId, timestamp, bytes));
  const legacyOk = safeEqual(legacySignature, flagsmithSignature(secret, bytes));
  if (!deliveryOk || !legacyOk) return { ok: false, reason: 'signature mismatch' };
  return { ok: true, deliveryId, timestamp };
}

function missing(name: string): VerifyDeliveryResult {
  return { ok: false, reason: `missing ${name} header` };
}

/** A header's single value; repeated or empty headers count as missing. */
function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  if (Array.isArray(value)) return value.length === 1 && value[0] ? value[0] : undefined;
  return value ? value : undefined;
}

function toBytes(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Constant-time comparison (the length check only reveals the length of the expected value). */
function safeEqual(received: string, expected: string): boolean {
  const a = Buffer.from(received, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
