import { Strategy as GitHubStrategy, type Profile as GitHubProfile } from 'passport-github2';
import {
  Strategy as GoogleStrategy,
  type Profile as GoogleProfile,
  type StrategyOptions as GoogleOptions,
} from 'passport-google-oauth20';
import type { StrategyOptions as GitHubOptions } from 'passport-github2';
import type { Config } from '../config/config';
import { LoginMethod, type OAuthProvider } from './login-method';
import type { PassportInstance } from './passport';

/** What a provider says about an account, the same for every provider. */
export interface OAuthProfile {
  /** The provider's stable id of the account (Google `sub`, GitHub's numeric id). */
  readonly subject: string;
  /** The address to sign in with; null when the provider gave none. */
  readonly email: string | null;
  /** Whether the provider vouches that the account owns `email`. */
  readonly emailVerified: boolean;
  readonly firstName: string;
  readonly lastName: string;
}

/** The passport strategy name of each provider. */
export const STRATEGY_NAME: Record<OAuthProvider, string> = {
  [LoginMethod.GOOGLE]: 'google',
  [LoginMethod.GITHUB]: 'github',
};

/** Where each provider redirects back to (Flagsmith's paths), after `config.publicUrl`. */
export const CALLBACK_PATH: Record<OAuthProvider, string> = {
  [LoginMethod.GOOGLE]: '/admin/admin_sso/assignment/end/',
  [LoginMethod.GITHUB]: '/auth/oauth/github/callback/',
};

/** Reads an account's profile with an access token, through the provider's configured URL. */
export interface ProfileReader {
  userProfile(accessToken: string, done: (err?: unknown, profile?: unknown) => void): void;
}

/** The registered strategies, by provider; a provider without a client is absent. */
export type OAuthStrategies = Partial<Record<OAuthProvider, ProfileReader>>;

type Verify = (
  accessToken: string,
  refreshToken: string,
  profile: unknown,
  done: (err: unknown, user?: OAuthProfile | false) => void,
) => void;

/** The strategy's verify step only turns the provider's profile into an OAuthProfile. */
const verifyWith =
  (parse: (profile: unknown) => OAuthProfile): Verify =>
  // passport-oauth2 picks the call by arity: keep exactly these four parameters.
  (_accessToken, _refreshToken, profile, done) => {
    let parsed: OAuthProfile;
    try {
      parsed = parse(profile);
    } catch (err) {
      done(err);
      return;
    }
    done(null, parsed);
  };

/**
 * Registers `google` and `github` on the app's passport, each only when its client is
 * configured. The state parameter is kept in the session (`state: true`), under a key per
 * provider so that two providers on one host never share it.
 */
export function registerOAuthStrategies(
  passport: PassportInstance,
  config: Pick<Config, 'oauth' | 'publicUrl'>,
): OAuthStrategies {
  const strategies: OAuthStrategies = {};
  const google = config.oauth.google;
  if (google) {
    const options: GoogleOptions & { state: true; sessionKey: string } = {
      clientID: google.clientId,
      clientSecret: google.clientSecret,
      callbackURL: `${config.publicUrl}${CALLBACK_PATH[LoginMethod.GOOGLE]}`,
      scope: ['openid', 'email', 'profile'],
      state: true,
      sessionKey: 'oauth2:google',
      ...(google.authorizationUrl && { authorizationURL: google.authorizationUrl }),
      ...(google.tokenUrl && { tokenURL: google.tokenUrl }),
      ...(google.userProfileUrl && { userProfileURL: google.userProfileUrl }),
    };
    const strategy = new GoogleStrategy(options, verifyWith(fromGoogle));
    guardProfileAnswers(strategy, []);
    passport.use(STRATEGY_NAME[LoginMethod.GOOGLE], strategy);
    strategies[LoginMethod.GOOGLE] = strategy;
  }
  const github = config.oauth.github;
  if (github) {
    // The types say `state` is a string; passport-oauth2 takes `true` (session state store).
    const options = {
      clientID: github.clientId,
      clientSecret: github.clientSecret,
      callbackURL: `${config.publicUrl}${CALLBACK_PATH[LoginMethod.GITHUB]}`,
      scope: ['user:email'],
      state: true,
      sessionKey: 'oauth2:github',
      userAgent: 'Flagward',
      // Every address with its `verified` flag (without it, only the primary one, unflagged).
      allRawEmails: true,
      ...(github.authorizationUrl && { authorizationURL: github.authorizationUrl }),
      ...(github.tokenUrl && { tokenURL: github.tokenUrl }),
      ...(github.userProfileUrl && { userProfileURL: github.userProfileUrl }),
      ...(github.userEmailUrl && { userEmailURL: github.userEmailUrl }),
    } as unknown as GitHubOptions;
    const strategy = new GitHubStrategy(options, verifyWith(fromGitHub));
    guardProfileAnswers(strategy, [github.userEmailUrl ?? GITHUB_EMAILS_URL]);
    passport.use(STRATEGY_NAME[LoginMethod.GITHUB], strategy);
    strategies[LoginMethod.GITHUB] = strategy;
  }
  return strategies;
}

/** passport-github2's default address list URL. */
const GITHUB_EMAILS_URL = 'https://api.github.com/user/emails';

/** passport-oauth2's client (`strategy._oauth2`), which the strategies read profiles with. */
interface OAuth2Client {
  get(
    url: string,
    accessToken: string,
    callback: (err: unknown, body?: string | Buffer, res?: unknown) => void,
  ): void;
}

/**
 * Both strategies parse the provider's answers inside a network callback, where a body that
 * is not the JSON they expect (not JSON, `null`, an object where a list belongs) throws past
 * passport and ends the process. Answers are checked here first; anything else becomes a
 * failed fetch, which the strategies report as an error.
 */
function guardProfileAnswers(strategy: object, listUrls: readonly string[]): void {
  const client = (strategy as { _oauth2?: OAuth2Client })._oauth2;
  if (!client) throw new Error('passport-oauth2 strategy without its OAuth2 client');
  const get = client.get.bind(client);
  client.get = (url, accessToken, callback) =>
    get(url, accessToken, (err, body, res) => {
      if (err) return callback(err, body, res);
      let json: unknown;
      try {
        json = JSON.parse(String(body));
      } catch {
        json = undefined;
      }
      const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
      const expected = listUrls.includes(url)
        ? Array.isArray(json) && json.every(isObject)
        : isObject(json);
      if (!expected) return callback(new Error(`unexpected answer from ${new URL(url).origin}`));
      callback(null, body, res);
    });
}

/** Parses the profile a strategy's `userProfile` gives for `provider`. */
export function parseProfile(provider: OAuthProvider, profile: unknown): OAuthProfile {
  return provider === LoginMethod.GOOGLE ? fromGoogle(profile) : fromGitHub(profile);
}

const str = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

function splitName(displayName: unknown): { firstName: string; lastName: string } {
  const name = str(displayName);
  const space = name.indexOf(' ');
  return space === -1
    ? { firstName: name, lastName: '' }
    : { firstName: name.slice(0, space), lastName: name.slice(space + 1).trim() };
}

/** Google's OpenID userinfo: `sub`, `email`, `email_verified`, `given_name`, `family_name`. */
export function fromGoogle(raw: unknown): OAuthProfile {
  const profile = raw as Partial<GoogleProfile>;
  const json = (profile._json ?? {}) as Record<string, unknown>;
  const subject = str(profile.id ?? json.sub);
  if (!subject) throw new Error('Google gave no account id');
  const email = str(json.email) || str(profile.emails?.[0]?.value) || null;
  // Google answers true; some older endpoints answered the string "true".
  const verified = json.email_verified ?? profile.emails?.[0]?.verified;
  const names = splitName(json.name ?? profile.displayName);
  return {
    subject,
    email,
    emailVerified: email !== null && (verified === true || verified === 'true'),
    firstName: str(json.given_name) || names.firstName,
    lastName: str(json.family_name) || names.lastName,
  };
}

interface GitHubEmail {
  readonly value?: unknown;
  readonly primary?: unknown;
  readonly verified?: unknown;
}

/**
 * GitHub's `/user` with every address from `/user/emails` (`allRawEmails`): the primary
 * address when it is verified, else another verified one, else the primary (unverified).
 */
export function fromGitHub(raw: unknown): OAuthProfile {
  const profile = raw as Partial<GitHubProfile>;
  const subject = str(profile.id);
  if (!subject) throw new Error('GitHub gave no account id');
  const emails = ((profile.emails ?? []) as GitHubEmail[]).filter(
    (e) => typeof e.value === 'string' && e.value.trim() !== '',
  );
  const verified = emails.filter((e) => e.verified === true);
  const chosen =
    verified.find((e) => e.primary === true) ??
    verified[0] ??
    emails.find((e) => e.primary === true) ??
    emails[0];
  const names = splitName(profile.displayName);
  return {
    subject,
    email: chosen ? str(chosen.value) : null,
    emailVerified: chosen?.verified === true,
    firstName: names.firstName || str(profile.username),
    lastName: names.lastName,
  };
}
