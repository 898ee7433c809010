import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AuditLogResolver } from '../audit/audit.resolver';
import { EnvironmentResolver } from '../environments/environment.resolver';
import {
  FeatureResolver,
  FeatureStateResolver,
  MultivariateOptionResolver,
} from '../features/feature.resolver';
import { IdentityResolver, TraitResolver } from '../identities/identity.resolver';
import { OrganisationApiKeyResolver } from '../organisations/api-key.resolver';
import { MembershipResolver, OrganisationResolver } from '../organisations/organisation.resolver';
import { authChecker } from '../permissions/auth-checker';
import { enforceTypeRequirements } from '../permissions/type-requirements';
import { ProjectResolver } from '../projects/project.resolver';
import { TagResolver } from '../projects/tag.resolver';
import { SegmentOverrideResolver, SegmentResolver } from '../segments/segment.resolver';
import { validateArgs } from './validate-args';
import { AuthResolver } from '../users/auth.resolver';
import { PasswordResetResolver } from '../users/password-reset.resolver';
import { SessionResolver } from '../users/session.resolver';
import { SignInOptionsResolver } from '../users/sign-in-options.resolver';
import { TwoFactorResolver } from '../users/two-factor.resolver';
import { ModelPermissionResolver } from '../permissions/model-permission.resolver';
import { UserResolver } from '../users/user.resolver';
import { UsageResolver } from '../usage/usage.resolver';
import { WebhookDeliveryResolver, WebhookResolver } from '../webhooks/webhook.resolver';
import { GroupMemberResolver, GroupResolver } from '../groups/group.resolver';
import { RoleAssignmentResolver, RoleResolver } from '../roles/role.resolver';
import { GrantResolver } from '../permissions/grant.resolver';

export const RESOLVERS = [
  AuthResolver,
  SignInOptionsResolver,
  SessionResolver,
  TwoFactorResolver,
  PasswordResetResolver,
  UserResolver,
  ModelPermissionResolver,
  OrganisationResolver,
  MembershipResolver,
  ProjectResolver,
  EnvironmentResolver,
  FeatureResolver,
  MultivariateOptionResolver,
  FeatureStateResolver,
  TagResolver,
  SegmentResolver,
  SegmentOverrideResolver,
  IdentityResolver,
  TraitResolver,
  UsageResolver,
  AuditLogResolver,
  OrganisationApiKeyResolver,
  WebhookResolver,
  WebhookDeliveryResolver,
  GroupResolver,
  GroupMemberResolver,
  RoleResolver,
  RoleAssignmentResolver,
  GrantResolver,
] as const;

export async function buildFlagwardSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    authMode: 'error',
    validateFn: validateArgs,
  });
  return enforceTypeRequirements(schema);
}

/** The committed `schema.graphql`: sorted, so that it only changes when the API does. */
export function printFlagwardSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
