import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Failed sign-in attempts per subject (`account:<email>` or `address:<ip>`), kept in the
 * database so that every node of a cluster counts the same attempts.
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
