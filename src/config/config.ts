import path from 'node:path';
import { z } from 'zod';
import { parseAllowedNetworks } from '../webhooks/network-policy';

/** Boolean environment values: accept the usual spellings, reject anything else. */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const port = z.coerce.number().int().min(0).max(65535);

/** An http(s) origin as browsers send it in `Origin`: scheme, host, optional port. */
const ORIGIN = /^https?:\/\/[^/?#\s*,]+$/i;

const httpUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');

/**
 * Every environment variable Flagward reads, with its default.
 * The README's configuration table documents exactly this list.
 */
const envSchema = z.object({
  PORT: port.default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  FLAGWARD_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(5),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  TRUST_PROXY: z.string().min(1).default('loopback'),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const origins = text
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== '');
      const normalised: string[] = [];
      for (const origin of origins) {
        const url = ORIGIN.test(origin) && URL.canParse(origin) ? new URL(origin) : null;
        if (!url) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(origin)} is not an origin such as https://app.example.com (scheme, host and port only; no path, no wildcard)`,
          });
          return z.NEVER;
        }
        // As browsers write it: lower case, no default port.
        normalised.push(url.origin);
      }
      return [...new Set(normalised)];
    }),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24 * 14),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RESTRICT_ORGANISATION_CREATE_TO_SUPERUSERS: bool.default(false),
  ENABLE_ADMIN_ACCESS_USER_PASS: bool.default(false),
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).default(19456),
  ARGON2_ITERATIONS: z.coerce.number().int().min(1).default(2),
  USAGE_FLUSH_SECONDS: z.coerce.number().positive().max(3600).default(10),
  SDK_CACHE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(300),
  SDK_ANSWER_CACHE_MB: z.coerce.number().min(0).max(65_536).default(64),
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/?#]+\/?$/, 'must be an http(s) origin such as https://flags.example.com')
    .optional(),
  EMAIL_HOST: z.string().min(1).optional(),
  EMAIL_PORT: port.default(587),
  EMAIL_HOST_USER: z.string().optional(),
  EMAIL_HOST_PASSWORD: z.string().optional(),
  EMAIL_USE_TLS: bool.default(true),
  EMAIL_USE_SSL: bool.default(false),
  SENDER_EMAIL: z.string().email().default('noreply@flagward.invalid'),
  PASSWORD_RESET_TTL_MINUTES: z.coerce
    .number()
    .positive()
    .max(60 * 24 * 7)
    .default(60),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(50),
  LOGIN_THROTTLE_WINDOW_SECONDS: z.coerce.number().positive().max(86_400).default(900),
  LOGIN_BLOCK_SECONDS: z.coerce.number().positive().max(86_400).default(900),
  PASSWORD_RESET_MAX_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(5),
  PASSWORD_RESET_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  API_KEY_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  WEBHOOK_WORKER: bool.default(true),
  WEBHOOK_ALLOWED_NETWORKS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseAllowedNetworks(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(10),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive().max(3600).default(2),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().positive().max(86_400).default(600),
  WEBHOOK_DEAD_AFTER_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(72),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // Google sign-in: Flagsmith's names first, GOOGLE_* as the alternative.
  OAUTH_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_AUTHORIZATION_URL: httpUrl.optional(),
  GOOGLE_TOKEN_URL: httpUrl.optional(),
  GOOGLE_USER_PROFILE_URL: httpUrl.optional(),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_AUTHORIZATION_URL: httpUrl.optional(),
  GITHUB_TOKEN_URL: httpUrl.optional(),
  GITHUB_USER_PROFILE_URL: httpUrl.optional(),
  GITHUB_USER_EMAIL_URL: httpUrl.optional(),
  OAUTH_SIGNUP: bool.default(true),
  NODE_ENV: z.string().optional(),
  GRAPHQL_INTROSPECTION: z.enum(['everyone', 'staff', 'off']).optional(),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(1).max(1000).default(15),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(5000),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(1).max(1000).default(20),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(100).max(10_000_000).default(5000),
  GRAPHQL_CACHE_MB: z.coerce.number().min(0).max(65_536).default(64),
  TOTP_ISSUER: z.string().min(1).max(64).default('Flagward'),
  TWO_FACTOR_CHALLENGE_MINUTES: z.coerce.number().positive().max(60).default(5),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(25),
  METRICS_ENABLED: bool.optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
});

export interface Config {
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly trustProxy: string;
    /**
     * Origins (besides this server's own) whose pages may call the management API (/graphql)
     * from a browser, with credentials. The SDK endpoints are open to every origin.
     */
    readonly corsAllowedOrigins: readonly string[];
  };
  readonly dataDir: string;
  /**
   * `timeoutMs`: longest wait for a database connection (connecting, or for a free one in the
   * pool) before a request fails, so nothing hangs while the database is down.
   */
  readonly database:
    | { readonly kind: 'embedded'; readonly dataDir: string; readonly timeoutMs: number }
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolMax: number;
        readonly timeoutMs: number;
      };
  /** Signs session cookies. Unset: a random key is generated once and kept in the data dir. */
  readonly secretKey: string | undefined;
  readonly sessionTtlMs: number;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  readonly restrictOrganisationCreateToSuperusers: boolean;
  /** Whether the admin IDE's sign-in page (/admin/) offers e-mail and password (else SSO only). */
  readonly adminPasswordLogin: boolean;
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number };
  /** How often buffered SDK usage counts are written to the database. */
  readonly usageFlushMs: number;
  /**
   * How often the SDK cache compares what it holds with the database, which is how changes
   * made by other processes reach it (this process's own changes arrive at once).
   */
  readonly sdkCachePollMs: number;
  /** Memory for remembered identity responses (0 turns the cache off). */
  readonly sdkAnswerCacheBytes: number;
  readonly webhooks: WebhookConfig;
  readonly loginThrottle: LoginThrottleConfig;
  /** Where users reach this server; links in mails and pages start with it. */
  readonly publicUrl: string;
  readonly mail: MailConfig;
  readonly passwordResetTtlMs: number;
  readonly oauth: OAuthConfig;
  readonly twoFactor: TwoFactorConfig;
  /** NODE_ENV=production: the defaults of a public deployment (e.g. introspection for staff). */
  readonly production: boolean;
  readonly graphql: GraphQLConfig;
  /**
   * How long a stopping server lets requests in progress finish (from the signal); whatever
   * is still open then is cut, and the rest of the shutdown (flushes, database) follows.
   */
  readonly shutdownTimeoutMs: number;
  readonly metrics: MetricsConfig;
}

export interface MetricsConfig {
  /** Whether `GET /metrics` answers (Prometheus text format); otherwise it is a 404. */
  readonly enabled: boolean;
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
}

export interface GraphQLConfig {
  /** Who may ask for the schema: everyone (development), staff (production), or nobody. */
  readonly introspection: 'everyone' | 'staff' | 'off';
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
  /** graphql-armor's estimate: objects cost 2, scalars 1, times 1.5 per level of depth. */
  readonly maxCost: number;
  /** Memory for answers to repeated queries (graphql/response-cache.ts); 0 turns it off. */
  readonly cacheBytes: number;
}

/** One OAuth provider's client; the URLs override the provider's own (proxies, tests). */
export interface OAuthClientConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizationUrl?: string | undefined;
  readonly tokenUrl?: string | undefined;
  readonly userProfileUrl?: string | undefined;
  /** GitHub only: where the account's e-mail addresses (and whether verified) are read. */
  readonly userEmailUrl?: string | undefined;
}

export interface OAuthConfig {
  /** Unset (no client id and secret): Google sign-in is off and says so. */
  readonly google: OAuthClientConfig | undefined;
  readonly github: OAuthClientConfig | undefined;
  /** Whether a first OAuth sign-in with an unknown verified e-mail creates an account. */
  readonly signup: boolean;
}

export interface TwoFactorConfig {
  /** The name authenticator apps show for the account. */
  readonly issuer: string;
  /** How long a sign-in waits for its second factor. */
  readonly challengeTtlMs: number;
}

export interface MailConfig {
  /** Unset: no mail is sent (and what would have been sent is logged without its links). */
  readonly host: string | undefined;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** STARTTLS (EMAIL_USE_TLS) — required when set. */
  readonly startTls: boolean;
  /** TLS from the first byte (EMAIL_USE_SSL, usually port 465). */
  readonly implicitTls: boolean;
  readonly from: string;
}

/** Limits on attempts, counted in the database (every node sees the same counts). */
export interface LoginThrottleConfig {
  /** Failed sign-ins (passwords and two-factor codes) for one account within `windowMs`. */
  readonly perAccount: number;
  /** Failed sign-ins from one client address within `windowMs` before it is blocked. */
  readonly perAddress: number;
  /** Password-reset requests for one e-mail address within `windowMs`. */
  readonly resetPerEmail: number;
  /** Password-reset requests from one client address within `windowMs`. */
  readonly resetPerAddress: number;
  /** Requests with a wrong organisation API key from one client address within `windowMs`. */
  readonly apiKeyFailuresPerAddress: number;
  /** The window every attempt above is counted in. */
  readonly windowMs: number;
  /** How long a subject that reached its limit is refused. */
  readonly blockMs: number;
}

export interface WebhookConfig {
  /** Whether this process sends webhook deliveries (every process may enqueue them). */
  readonly worker: boolean;
  /** CIDR ranges a webhook may reach although they are private (trusted internal receivers). */
  readonly allowedNetworks: readonly string[];
  readonly timeoutMs: number;
  /** First retry delay; each further retry doubles it, up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A delivery still failing this long after its event becomes a dead letter. */
  readonly deadAfterMs: number;
  /** How often a worker looks for due deliveries (its own process's changes wake it at once). */
  readonly pollMs: number;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the environment once into a validated, deeply frozen Config. */
export function loadConfig(env: Env): Config {
  // Empty strings count as unset, as in most deployment tools.
  const cleaned = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${i.path.join('.')}: ${i.message} (got ${show(env, i.path)})`,
      ),
    );
  }
  const e = parsed.data;
  const unpaired = (
    [
      ['OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET'],
      ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
      ['GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET'],
    ] as const
  ).filter(([id, secret]) => (e[id] === undefined) !== (e[secret] === undefined));
  if (unpaired.length) {
    throw new ConfigError(
      unpaired.map(([id, secret]) => `${id} and ${secret}: set both or neither`),
    );
  }
  const dataDir = path.resolve(e.FLAGWARD_DATA_DIR);
  return deepFreeze({
    http: {
      port: e.PORT,
      host: e.HOST,
      trustProxy: e.TRUST_PROXY,
      corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
    },
    dataDir,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolMax: e.DATABASE_POOL_MAX,
          timeoutMs: Math.round(e.DATABASE_TIMEOUT_SECONDS * 1000),
        }
      : {
          kind: 'embedded',
          dataDir: path.join(dataDir, 'pg'),
          timeoutMs: Math.round(e.DATABASE_TIMEOUT_SECONDS * 1000),
        },
    secretKey: e.SECRET_KEY,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    logLevel: e.LOG_LEVEL,
    restrictOrganisationCreateToSuperusers: e.RESTRICT_ORGANISATION_CREATE_TO_SUPERUSERS,
    adminPasswordLogin: e.ENABLE_ADMIN_ACCESS_USER_PASS,
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_ITERATIONS },
    usageFlushMs: Math.round(e.USAGE_FLUSH_SECONDS * 1000),
    sdkCachePollMs: e.SDK_CACHE_POLL_MS,
    sdkAnswerCacheBytes: Math.round(e.SDK_ANSWER_CACHE_MB * 1024 * 1024),
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    mail: {
      host: e.EMAIL_HOST,
      port: e.EMAIL_PORT,
      user: e.EMAIL_HOST_USER || undefined,
      password: e.EMAIL_HOST_PASSWORD || undefined,
      startTls: e.EMAIL_USE_TLS,
      implicitTls: e.EMAIL_USE_SSL,
      from: e.SENDER_EMAIL,
    },
    passwordResetTtlMs: Math.round(e.PASSWORD_RESET_TTL_MINUTES * 60_000),
    loginThrottle: {
      perAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      resetPerEmail: e.PASSWORD_RESET_MAX_PER_EMAIL,
      resetPerAddress: e.PASSWORD_RESET_MAX_PER_ADDRESS,
      apiKeyFailuresPerAddress: e.API_KEY_MAX_FAILURES_PER_ADDRESS,
      windowMs: Math.round(e.LOGIN_THROTTLE_WINDOW_SECONDS * 1000),
      blockMs: Math.round(e.LOGIN_BLOCK_SECONDS * 1000),
    },
    webhooks: {
      worker: e.WEBHOOK_WORKER,
      allowedNetworks: e.WEBHOOK_ALLOWED_NETWORKS,
      timeoutMs: Math.round(e.WEBHOOK_TIMEOUT_SECONDS * 1000),
      retryBaseMs: Math.round(e.WEBHOOK_RETRY_BASE_SECONDS * 1000),
      retryMaxMs: Math.round(e.WEBHOOK_RETRY_MAX_SECONDS * 1000),
      deadAfterMs: Math.round(e.WEBHOOK_DEAD_AFTER_HOURS * 3600_000),
      pollMs: e.WEBHOOK_POLL_MS,
    },
    oauth: {
      google: oauthClient(
        e.OAUTH_CLIENT_ID ?? e.GOOGLE_CLIENT_ID,
        e.OAUTH_CLIENT_SECRET ?? e.GOOGLE_CLIENT_SECRET,
        {
          authorizationUrl: e.GOOGLE_AUTHORIZATION_URL,
          tokenUrl: e.GOOGLE_TOKEN_URL,
          userProfileUrl: e.GOOGLE_USER_PROFILE_URL,
        },
      ),
      github: oauthClient(e.GITHUB_CLIENT_ID, e.GITHUB_CLIENT_SECRET, {
        authorizationUrl: e.GITHUB_AUTHORIZATION_URL,
        tokenUrl: e.GITHUB_TOKEN_URL,
        userProfileUrl: e.GITHUB_USER_PROFILE_URL,
        userEmailUrl: e.GITHUB_USER_EMAIL_URL,
      }),
      signup: e.OAUTH_SIGNUP,
    },
    production: e.NODE_ENV === 'production',
    graphql: {
      introspection:
        e.GRAPHQL_INTROSPECTION ?? (e.NODE_ENV === 'production' ? 'staff' : 'everyone'),
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxCost: e.GRAPHQL_MAX_COST,
      cacheBytes: Math.round(e.GRAPHQL_CACHE_MB * 1024 * 1024),
    },
    twoFactor: {
      issuer: e.TOTP_ISSUER,
      challengeTtlMs: Math.round(e.TWO_FACTOR_CHALLENGE_MINUTES * 60_000),
    },
    shutdownTimeoutMs: Math.round(e.SHUTDOWN_TIMEOUT_SECONDS * 1000),
    metrics: {
      // Open by default in development; a production server needs a token (or an explicit yes).
      enabled: e.METRICS_ENABLED ?? (e.NODE_ENV !== 'production' || e.METRICS_TOKEN !== undefined),
      token: e.METRICS_TOKEN,
    },
  });
}

function oauthClient(
  clientId: string | undefined,
  clientSecret: string | undefined,
  urls: Omit<OAuthClientConfig, 'clientId' | 'clientSecret'>,
): OAuthClientConfig | undefined {
  if (!clientId || !clientSecret) return undefined;
  return { clientId, clientSecret, ...urls };
}

/** A copy of the config with some parts replaced (tests, CLI). */
export function withOverrides(config: Config, overrides: Partial<Config>): Config {
  return deepFreeze({ ...structuredClone(config), ...overrides });
}

function show(env: Env, p: readonly PropertyKey[]): string {
  const key = String(p[0]);
  const value = env[key];
  if (value === undefined) return 'nothing';
  // Never echo secrets back into logs.
  return /SECRET|PASSWORD|URL|TOKEN/.test(key) ? '<redacted>' : JSON.stringify(value);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
