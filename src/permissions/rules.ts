import {
  ENVIRONMENT_KEYS,
  ORGANISATION_KEYS,
  PROJECT_KEYS,
  type PermissionKey,
  type Scope,
} from './keys';

/**
 * The rule table: for every key, the scope it is checked on and which grants satisfy it.
 * `can`, `assert` and the list filters of PermissionService all read this one table.
 *
 * Satisfied by (union, as Flagsmith's permission_service does):
 * - superusers: everything;
 * - organisation ADMIN (membership role): everything inside the organisation;
 * - membership alone: only ORGANISATION_MEMBER (seeing the organisation);
 * - a grant with `admin=true` on the key's scope or an enclosing project
 *   (project admin ⇒ environment admin of all its environments);
 * - a grant on exactly the key's scope listing the key.
 * Grants count only while their holder is a member of the grant's organisation.
 */
export interface Rule {
  readonly scope: Scope;
  /** Stored key that grants it, or null for the admin pseudo-keys. */
  readonly grantKey: PermissionKey | null;
  /** A project-level `admin` grant satisfies it. */
  readonly projectAdminSuffices: boolean;
  /** An environment-level `admin` grant satisfies it. */
  readonly environmentAdminSuffices: boolean;
  /** Plain membership of the organisation suffices. */
  readonly memberSuffices?: boolean;
}

function table(): Record<PermissionKey, Rule> {
  const t = {} as Record<PermissionKey, Rule>;
  for (const k of ORGANISATION_KEYS) {
    t[k] = {
      scope: 'ORGANISATION',
      grantKey: k,
      projectAdminSuffices: false,
      environmentAdminSuffices: false,
    };
  }
  for (const k of PROJECT_KEYS) {
    t[k] = {
      scope: 'PROJECT',
      grantKey: k,
      projectAdminSuffices: true,
      environmentAdminSuffices: false,
    };
  }
  for (const k of ENVIRONMENT_KEYS) {
    t[k] = {
      scope: 'ENVIRONMENT',
      grantKey: k,
      projectAdminSuffices: true,
      environmentAdminSuffices: true,
    };
  }
  t.ORGANISATION_MEMBER = {
    scope: 'ORGANISATION',
    grantKey: null,
    projectAdminSuffices: false,
    environmentAdminSuffices: false,
    memberSuffices: true,
  };
  t.ORGANISATION_ADMIN = {
    scope: 'ORGANISATION',
    grantKey: null,
    projectAdminSuffices: false,
    environmentAdminSuffices: false,
  };
  t.PROJECT_ADMIN = {
    scope: 'PROJECT',
    grantKey: null,
    projectAdminSuffices: true,
    environmentAdminSuffices: false,
  };
  t.ENVIRONMENT_ADMIN = {
    scope: 'ENVIRONMENT',
    grantKey: null,
    projectAdminSuffices: true,
    environmentAdminSuffices: true,
  };
  return t;
}

export const RULES: Readonly<Record<PermissionKey, Rule>> = Object.freeze(table());

export function ruleFor(key: PermissionKey): Rule {
  return RULES[key];
}
