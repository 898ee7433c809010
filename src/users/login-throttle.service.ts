import type { EntityManager } from '@mikro-orm/postgresql';
import type { LoginThrottleConfig } from '../config/config';
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
 * Failed sign-ins counted per account and per client address in `login_throttles`, so every
 * node of a cluster counts the same attempts. Each subject has a fixed window that starts at
 * its first failure; reaching the limit within the window blocks the subject for `blockMs`
 * (and every further failure in the same window blocks it again). All times are the
 * database's, and every change is a single atomic statement: no read-modify-write here.
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
  async blockedFor(em: EntityManager, email: string, address: string | undefined): Promise<number> {
    const rows = await em.getConnection().execute<{ seconds: number | string }[]>(
      `select coalesce(ceil(extract(epoch from (max(blocked_until) - now()))), 0)::int as seconds
         from login_throttles
        where subject in (?, ?) and blocked_until > now()`,
      [accountSubject(email), addressSubject(address)],
    );
    return Math.max(0, Number(rows[0]?.seconds ?? 0));
  }

  /** Counts one failed sign-in against the account and the address. */
  async recordFailure(
    em: EntityManager,
    email: string,
    address: string | undefined,
  ): Promise<void> {
    await this.bump(em, accountSubject(email), this.config.perAccount);
    await this.bump(em, addressSubject(address), this.config.perAddress);
  }

  /** A successful sign-in clears the account's failures (never the address's). */
  async recordSuccess(em: EntityManager, email: string): Promise<void> {
    await em
      .getConnection()
      .execute('delete from login_throttles where subject = ?', [accountSubject(email)], 'run');
  }

  /**
   * One failure for `subject`, atomically: a new row, a restarted window when the old one has
   * passed, or one more failure in the current window; blocked once the count reaches `limit`.
   * (The SET expressions all see the row as it was before this update.)
   */
  private async bump(em: EntityManager, subject: string, limit: number): Promise<void> {
    const windowSeconds = this.config.windowMs / 1000;
    const blockSeconds = this.config.blockMs / 1000;
    const expired = `t.window_started_at <= now() - make_interval(secs => ?)`;
    const count = `case when ${expired} then 1 else t.failures + 1 end`;
    await em.getConnection().execute(
      `insert into login_throttles as t (subject, failures, window_started_at, blocked_until)
       values (?, 1, now(), case when 1 >= ? then now() + make_interval(secs => ?) end)
       on conflict (subject) do update set
         failures = ${count},
         window_started_at = case when ${expired} then now() else t.window_started_at end,
         blocked_until = case
           when ${count} >= ? then now() + make_interval(secs => ?)
           else t.blocked_until
         end`,
      [
        subject,
        limit,
        blockSeconds,
        windowSeconds, // failures
        windowSeconds, // window_started_at
        windowSeconds, // blocked_until's count
        limit,
        blockSeconds,
      ],
      'run',
    );
  }
}
