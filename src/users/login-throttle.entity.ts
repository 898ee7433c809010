import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Attempts per subject (failed sign-ins: `account:<email>`, `address:<ip>`; password-reset
 * requests: `reset-email:<email>`, `reset-address:<ip>`; wrong API keys:
 * `api-key-address:<ip>`), kept in the database so that every node of a cluster counts the
 * same attempts (src/shared/attempt-counter.ts).
 */
@Entity({ tableName: 'login_throttles' })
export class LoginThrottle {
  [OptionalProps]?: 'failures' | 'windowStartedAt' | 'blockedUntil';

  @PrimaryKey({ type: 'string', length: 300 })
  subject!: string;

  @Property({ type: 'integer', default: 0 })
  failures: number = 0;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  windowStartedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  blockedUntil?: Date | null;
}
