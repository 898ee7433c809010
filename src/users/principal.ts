import type { User } from './user.entity';
import type { LoginMethod } from './login-method';
import type { SessionKind } from './user-session.entity';

/** Who is making a request. */
export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly user: User;
      /** The session or token the request came with (its hashed id). */
      readonly session: {
        readonly idHash: string;
        readonly kind: SessionKind;
        readonly method: LoginMethod;
      };
    }
  | {
      /** An organisation API key (`Authorization: Api-Key …`): acts within one organisation. */
      readonly kind: 'apiKey';
      readonly key: {
        readonly id: number;
        readonly name: string;
        readonly organisationId: number;
        readonly isAdmin: boolean;
      };
    };

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });
