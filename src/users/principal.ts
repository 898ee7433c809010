import { ForbiddenError, UnauthenticatedError } from '../shared/errors';
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

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/**
 * The signed-in person. Anonymous callers are UNAUTHENTICATED; an organisation API key is a
 * valid credential, but its own sessions, password and 2FA are a person's: FORBIDDEN.
 */
export function signedInUser(principal: Principal): UserPrincipal {
  if (principal.kind === 'user') return principal;
  if (principal.kind === 'apiKey')
    throw new ForbiddenError('Only a signed-in person may do this, not an organisation API key');
  throw new UnauthenticatedError();
}
