import { registerEnumType } from 'type-graphql';

/** How a session was opened; organisations may limit which their members use. */
export enum LoginMethod {
  PASSWORD = 'PASSWORD',
  GOOGLE = 'GOOGLE',
  GITHUB = 'GITHUB',
}
registerEnumType(LoginMethod, {
  name: 'LoginMethod',
  description: 'How a session was opened: email and password, or an OAuth provider.',
});

/** OAuth providers a user can sign in through. */
export type OAuthProvider = LoginMethod.GOOGLE | LoginMethod.GITHUB;
