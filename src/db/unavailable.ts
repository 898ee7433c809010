/**
 * Whether an error means the database cannot be reached or is not serving right now
 * (stopped, restarting, out of connections, connection lost or timed out), as opposed to
 * an error in what was asked of it. Looks through MikroORM's wrappers (`cause`, `previous`).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQL_STATE.test(code))) return true;
    if (name === 'KnexTimeoutError' || name === 'ConnectionException') return true;
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
    e = (e as { cause?: unknown }).cause ?? (e as { previous?: unknown }).previous;
  }
  return false;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown,
 * crash, cannot connect now), and 53300 (too many connections).
 */
const SQL_STATE = /^(08[0-9A-Z]{3}|57P0[1-4]|53300)$/;

/** node-postgres and knex say these without a code. */
const MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Timeout acquiring a connection|Client has encountered a connection error|Connection ended unexpectedly/i;
