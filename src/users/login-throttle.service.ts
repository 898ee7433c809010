import type { EntityManager } from '@mikro-orm/postgresql';
import type { LoginThrottleConfig } from '../config/config';
import { attempts } from '../shared/attempt-counter';
import { TooManyRequestsError } from '../shared/errors';

/** The throttle subject of an account: the email as sign-in compares it. */
export function accountSubject(email: string): string {
  return `account:${email.trim().toLowerCase()}`;
}

/** The throttle subject of a client address (`req.ip`). */
export function addressSubject(address: string | undefined): string {
  return `address:${address || 'unknown'}`;
}

/**
 * Failed sign-ins counted per account and per client address (see `attempts`: in the
 * database, so every node of a cluster counts the same attempts). Reaching a limit within
 * the window blocks the account or address for `blockMs`.
 *
 * Unknown emails are counted exactly like known ones, so neither the counts nor the blocks
 * reveal whether an account exists.
 */
export class LoginThrottleService {
  constructor(private readonly config: LoginThrottleConfig) {}

  /** The error a blocked account or address gets. */
  blockedError(retryAfterSeconds: number): TooManyRequestsError {
    return new TooManyRequestsError(
      `Too many failed sign-in attempts; try again in ${retryAfterSeconds} seconds`,
      retryAfterSeconds,
    );
  }

  /** Seconds until both the account and the address may try again; 0 when neither is blocked. */
  blockedFor(em: EntityManager, email: string, address: string | undefined): Promise<number> {
    return attempts.blockedFor(em, [accountSubject(email), addressSubject(address)]);
  }

  /** Counts one failed sign-in against the account and the address. */
  async recordFailure(
    em: EntityManager,
    email: string,
    address: string | undefined,
  ): Promise<void> {
    const { windowMs, blockMs } = this.config;
    await attempts.count(em, accountSubject(email), {
      limit: this.config.perAccount,
      windowMs,
      blockMs,
    });
    await attempts.count(em, addressSubject(address), {
      limit: this.config.perAddress,
      windowMs,
      blockMs,
    });
  }

  /** A successful sign-in clears the account's failures (never the address's). */
  recordSuccess(em: EntityManager, email: string): Promise<void> {
    return attempts.clear(em, accountSubject(email));
  }
}
