import type { EntityManager } from '@mikro-orm/core';

/** At most `limit` attempts per subject within `windowMs`; reaching it refuses for `blockMs`. */
export interface AttemptLimit {
  readonly limit: number;
  readonly windowMs: number;
  readonly blockMs: number;
}

/**
 * Attempts counted per subject in `login_throttles`, shared by every limiter (failed
 * sign-ins, password-reset requests, wrong API keys), so every node of a cluster counts the
 * same attempts. Subjects are namespaced by their limiter (`account:…`, `address:…`,
 * `reset-email:…`, `api-key-address:…`). Each subject has a fixed window that starts at its
 * first attempt; reaching the limit within the window blocks the subject for `blockMs` (and
 * every further attempt in the same window blocks it again). All times are the database's,
 * and every change is one atomic statement: no read-modify-write.
 */
export const attempts = {
  /** Seconds until every one of `subjects` may try again; 0 when none is blocked. */
  async blockedFor(em: EntityManager, subjects: readonly string[]): Promise<number> {
    if (subjects.length === 0) return 0;
    const rows = await em.getConnection().execute<{ seconds: number | string }[]>(
      `select coalesce(ceil(extract(epoch from (max(blocked_until) - now()))), 0)::int as seconds
         from login_throttles
        where subject in (${subjects.map(() => '?').join(', ')}) and blocked_until > now()`,
      [...subjects],
    );
    return Math.max(0, Number(rows[0]?.seconds ?? 0));
  },

  /**
   * One attempt for `subject`, atomically: a new row, a restarted window when the old one has
   * passed, or one more attempt in the current window; blocked once the count reaches the
   * limit. (The SET expressions all see the row as it was before this update.)
   */
  async count(em: EntityManager, subject: string, limit: AttemptLimit): Promise<void> {
    const windowSeconds = limit.windowMs / 1000;
    const blockSeconds = limit.blockMs / 1000;
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
        limit.limit,
        blockSeconds,
        windowSeconds, // failures
        windowSeconds, // window_started_at
        windowSeconds, // blocked_until's count
        limit.limit,
        blockSeconds,
      ],
      'run',
    );
  },

  /** Forgets the subject's attempts (and any block). */
  async clear(em: EntityManager, subject: string): Promise<void> {
    await em
      .getConnection()
      .execute('delete from login_throttles where subject = ?', [subject], 'run');
  },
};
