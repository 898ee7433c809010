import type { User } from './user.entity';
import type { SessionKind } from './user-session.entity';

/** Who is making a request. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly user: User;
      /** The session or token the request came with (its hashed id). */
      readonly session: { readonly idHash: string; readonly kind: SessionKind };
    };

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });
