import { AuditLog } from '../audit/audit-log.entity';
import { Environment } from '../environments/environment.entity';
import { ServerSideKey } from '../environments/server-side-key.entity';
import { Feature } from '../features/feature.entity';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../features/feature-state.entity';
import { MultivariateOption } from '../features/multivariate-option.entity';
import { UserGroup, UserGroupMembership } from '../groups/user-group.entity';
import { Identity, Trait } from '../identities/identity.entity';
import { OrganisationMembership } from '../organisations/membership.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
import { ModelPermissionGrant, PermissionGrant } from '../permissions/permission-grant.entity';
import { Project } from '../projects/project.entity';
import { Tag } from '../projects/tag.entity';
import { Role, RoleAssignment } from '../roles/role.entity';
import { Segment, SegmentCondition, SegmentRule } from '../segments/segment.entity';
import { ApiUsage, FeatureEvaluation } from '../usage/api-usage.entity';
import { BackupCode } from '../users/backup-code.entity';
import { LoginThrottle } from '../users/login-throttle.entity';
import { PasswordResetToken } from '../users/password-reset-token.entity';
import { SocialAccount } from '../users/social-account.entity';
import { UserSession } from '../users/user-session.entity';
import { User } from '../users/user.entity';
import { WebhookAttempt, WebhookDelivery } from '../webhooks/delivery.entity';
import { Webhook } from '../webhooks/webhook.entity';

/** Every entity, listed explicitly (no folder scanning: the same list in dev, build and tests). */
export const ENTITIES = [
  User,
  UserSession,
  PasswordResetToken,
  LoginThrottle,
  SocialAccount,
  BackupCode,
  Organisation,
  OrganisationMembership,
  OrganisationApiKey,
  Project,
  Tag,
  Environment,
  ServerSideKey,
  Feature,
  MultivariateOption,
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
  Segment,
  SegmentRule,
  SegmentCondition,
  Identity,
  Trait,
  UserGroup,
  UserGroupMembership,
  Role,
  RoleAssignment,
  PermissionGrant,
  ModelPermissionGrant,
  AuditLog,
  Webhook,
  WebhookDelivery,
  WebhookAttempt,
  ApiUsage,
  FeatureEvaluation,
];
