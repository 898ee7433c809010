/**
 * Flagsmith's permission keys, verbatim, grouped by the scope they are granted on
 * (shared/spec/admin-domain.md §2).
 */
export const ORGANISATION_KEYS = ['CREATE_PROJECT', 'MANAGE_USER_GROUPS'] as const;

export const PROJECT_KEYS = [
  'VIEW_PROJECT',
  'CREATE_ENVIRONMENT',
  'CREATE_FEATURE',
  'EDIT_FEATURE',
  'DELETE_FEATURE',
  'MANAGE_SEGMENTS',
  'VIEW_AUDIT_LOG',
  'MANAGE_TAGS',
  'CREATE_PROJECT_LEVEL_CHANGE_REQUESTS',
  'APPROVE_PROJECT_LEVEL_CHANGE_REQUESTS',
  'MANAGE_PROJECT_LEVEL_CHANGE_REQUESTS',
] as const;

export const ENVIRONMENT_KEYS = [
  'VIEW_ENVIRONMENT',
  'UPDATE_FEATURE_STATE',
  'MANAGE_SEGMENT_OVERRIDES',
  'MANAGE_IDENTITIES',
  'VIEW_IDENTITIES',
  'CREATE_CHANGE_REQUEST',
  'APPROVE_CHANGE_REQUEST',
] as const;

export type OrganisationKey = (typeof ORGANISATION_KEYS)[number];
export type ProjectKey = (typeof PROJECT_KEYS)[number];
export type EnvironmentKey = (typeof ENVIRONMENT_KEYS)[number];

/**
 * "Admin" of a scope is not a stored key in Flagsmith (organisation ADMIN is a membership
 * role; project/environment admin is the `admin` flag of a grant). We name it as a key so
 * that rules and requirements speak one language.
 */
export type AdminKey = 'ORGANISATION_ADMIN' | 'PROJECT_ADMIN' | 'ENVIRONMENT_ADMIN';

/** Membership of an organisation: what seeing the organisation itself takes. */
export type MemberKey = 'ORGANISATION_MEMBER';

/** Any permission a requirement may name. */
export type PermissionKey = OrganisationKey | ProjectKey | EnvironmentKey | AdminKey | MemberKey;

/** A key that can be stored on a grant row (admin is the row's flag, not a key). */
export type GrantableKey = OrganisationKey | ProjectKey | EnvironmentKey;

export type Scope = 'ORGANISATION' | 'PROJECT' | 'ENVIRONMENT';

export const KEYS_BY_SCOPE: Readonly<Record<Scope, readonly GrantableKey[]>> = {
  ORGANISATION: ORGANISATION_KEYS,
  PROJECT: PROJECT_KEYS,
  ENVIRONMENT: ENVIRONMENT_KEYS,
};

/**
 * Django-style model permissions for instance-wide records (the admin site).
 * `view_`/`add_`/`change_`/`delete_` + model, plus custom codenames.
 */
export const ADMIN_MODELS = [
  'user',
  'organisation',
  'project',
  'environment',
  'auditlog',
  'usergroup',
  'role',
] as const;
export type AdminModel = (typeof ADMIN_MODELS)[number];
export const MODEL_ACTIONS = ['view', 'add', 'change', 'delete'] as const;
export type ModelAction = (typeof MODEL_ACTIONS)[number];

export const CUSTOM_MODEL_CODENAMES = ['impersonate_user', 'export_audit_log'] as const;

export type ModelCodename =
  `${ModelAction}_${AdminModel}` | (typeof CUSTOM_MODEL_CODENAMES)[number];

export const ALL_MODEL_CODENAMES: readonly ModelCodename[] = [
  ...ADMIN_MODELS.flatMap((m) => MODEL_ACTIONS.map((a): ModelCodename => `${a}_${m}`)),
  ...CUSTOM_MODEL_CODENAMES,
];

export function isModelCodename(value: string): value is ModelCodename {
  return (ALL_MODEL_CODENAMES as readonly string[]).includes(value);
}
