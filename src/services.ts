import type { MikroORM } from '@mikro-orm/core';
import { AuditService } from './audit/audit.service';
import type { Config } from './config/config';
import { resolveSecretKey } from './config/secret';
import { EnvironmentService } from './environments/environment.service';
import { ImportService } from './environments/import/import.service';
import { FeatureStateService } from './features/feature-state.service';
import { FeatureService } from './features/feature.service';
import { IdentityService } from './identities/identity.service';
import { ApiKeyService } from './organisations/api-key.service';
import { ModelPermissionService } from './permissions/model-permission.service';
import { GrantService } from './permissions/grant.service';
import { GroupService } from './groups/group.service';
import { RoleService } from './roles/role.service';
import { OrganisationService } from './organisations/organisation.service';
import { ProjectService } from './projects/project.service';
import { TagService } from './projects/tag.service';
import { SegmentOverrideService } from './segments/segment-override.service';
import { SegmentService } from './segments/segment.service';
import type { Logger } from './shared/logger';
import { Mailer } from './mail/mailer';
import { LoginThrottleService } from './users/login-throttle.service';
import { LoginService } from './users/login.service';
import { OAuthService } from './users/oauth.service';
import { registerOAuthStrategies } from './users/oauth.strategies';
import { createPassport, type PassportInstance } from './users/passport';
import { PasswordHasher } from './users/password';
import { PasswordResetService } from './users/password-reset.service';
import { SessionService, TokenService } from './users/session.service';
import { TwoFactorService } from './users/two-factor.service';
import { UserAdminService } from './users/user-admin.service';
import { UserService } from './users/user.service';
import type { SenderOptions } from './webhooks/http-sender';
import { AddressPolicy } from './webhooks/network-policy';
import { WebhookOutbox } from './webhooks/outbox';
import { SecretBox } from './shared/secret-box';
import { WebhookService } from './webhooks/webhook.service';

/** Application services: stateless singletons; every call takes a request's EntityManager. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly passwords: PasswordHasher;
  readonly users: UserService;
  readonly tokens: TokenService;
  readonly sessions: SessionService;
  readonly mailer: Mailer;
  readonly passwordReset: PasswordResetService;
  readonly passport: PassportInstance;
  /** Failed sign-ins per account and per client address, shared through the database. */
  readonly loginThrottle: LoginThrottleService;
  /** TOTP seeds and backup codes. */
  readonly twoFactor: TwoFactorService;
  /** What every way of signing in shares: restrictions, second factor, the session. */
  readonly logins: LoginService;
  /** Google and GitHub sign-in: which account a provider's profile signs in as. */
  readonly oauth: OAuthService;
  readonly audit: AuditService;
  readonly organisations: OrganisationService;
  readonly projects: ProjectService;
  readonly environments: EnvironmentService;
  readonly features: FeatureService;
  readonly featureStates: FeatureStateService;
  readonly tags: TagService;
  readonly segments: SegmentService;
  readonly segmentOverrides: SegmentOverrideService;
  readonly imports: ImportService;
  readonly identities: IdentityService;
  readonly apiKeys: ApiKeyService;
  /** Instance-wide (admin site) model permissions. */
  readonly modelPermissions: ModelPermissionService;
  readonly userAdmin: UserAdminService;
  /** Organisation groups and their members. */
  readonly groups: GroupService;
  readonly roles: RoleService;
  /** Object-level grants (organisation, project, environment). */
  readonly grants: GrantService;
  /** Webhook deliveries written with the changes that cause them. */
  readonly outbox: WebhookOutbox;
  readonly webhooks: WebhookService;
  /** The SSRF policy every webhook request goes through. */
  readonly webhookSender: SenderOptions;
  /** Seals what must be read back (webhook secrets, TOTP seeds) with the instance key. */
  readonly secrets: SecretBox;
}

export function createServices(config: Config, orm: MikroORM, logger: Logger): Services {
  const passwords = new PasswordHasher(config.argon2);
  const users = new UserService(passwords);
  const sessions = new SessionService();
  const mailer = new Mailer(config.mail, logger);
  const outbox = new WebhookOutbox();
  const audit = new AuditService(outbox);
  const featureStates = new FeatureStateService(audit, outbox);
  const sender: SenderOptions = { policy: new AddressPolicy(config.webhooks.allowedNetworks) };
  const secrets = new SecretBox(resolveSecretKey(config.secretKey, config.dataDir));
  const segments = new SegmentService(audit);
  const tokens = new TokenService(config.sessionTtlMs);
  const loginThrottle = new LoginThrottleService(config.loginThrottle);
  const twoFactor = new TwoFactorService(secrets, config.twoFactor.issuer);
  const passport = createPassport(orm, users);
  const oauth = new OAuthService({
    users,
    audit,
    strategies: registerOAuthStrategies(passport, config),
    signup: config.oauth.signup,
  });
  return {
    config,
    logger,
    passwords,
    users,
    tokens,
    sessions,
    mailer,
    passwordReset: new PasswordResetService(
      users,
      sessions,
      audit,
      mailer,
      {
        publicUrl: config.publicUrl,
        ttlMs: config.passwordResetTtlMs,
        limits: config.loginThrottle,
      },
      logger,
    ),
    passport,
    loginThrottle,
    twoFactor,
    logins: new LoginService({
      secrets,
      twoFactor,
      tokens,
      throttle: loginThrottle,
      passwords,
      passport,
      challengeTtlMs: config.twoFactor.challengeTtlMs,
    }),
    oauth,
    audit,
    organisations: new OrganisationService(config, users, audit),
    projects: new ProjectService(audit),
    environments: new EnvironmentService(audit),
    features: new FeatureService(audit, featureStates),
    featureStates,
    tags: new TagService(audit),
    segments,
    segmentOverrides: new SegmentOverrideService(audit, featureStates),
    imports: new ImportService(audit, segments),
    identities: new IdentityService(audit, featureStates),
    apiKeys: new ApiKeyService(audit, config.loginThrottle),
    modelPermissions: new ModelPermissionService(audit),
    userAdmin: new UserAdminService(audit, sessions),
    groups: new GroupService(audit),
    roles: new RoleService(audit),
    grants: new GrantService(audit),
    outbox,
    webhooks: new WebhookService(audit, outbox, secrets, sender),
    webhookSender: sender,
    secrets,
  };
}
