import type { ModelCodename, PermissionKey } from './keys';

/** The kinds of record a permission check can be anchored on. */
export type ResourceType =
  | 'organisation'
  | 'organisationApiKey'
  | 'project'
  | 'environment'
  | 'serverSideKey'
  | 'feature'
  | 'segment'
  | 'tag'
  | 'multivariateOption'
  | 'featureState'
  | 'segmentOverride'
  | 'identity'
  | 'webhook'
  | 'webhookDelivery';

/**
 * What a query, mutation, field or type needs. A list of requirements is satisfied when
 * any one of them is (type-graphql's `@Authorized(...roles)` semantics).
 */
export type Requirement =
  /** Anyone, signed in or not. Must be said explicitly: nothing is public by default. */
  | { readonly kind: 'public' }
  /** Any signed-in principal; what it sees is narrowed further by list filters. */
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'staff' }
  | { readonly kind: 'superuser' }
  /** A Django-style model permission (instance-wide records). */
  | { readonly kind: 'model'; readonly codename: ModelCodename }
  /** On a User: the user themself, an admin of an organisation they belong to, or a holder of view_user. */
  | { readonly kind: 'self-or-admin-of-user' }
  /**
   * A Flagsmith key on a record. `on: 'root'` checks the parent object of the field;
   * `{ arg, type }` loads the record whose id is in that argument (dotted path allowed).
   */
  | {
      readonly kind: 'permission';
      readonly key: PermissionKey;
      readonly on: 'root' | { readonly arg: string; readonly type: ResourceType };
    }
  /**
   * An action over many records (a bulk mutation): `key` on every record whose id a list
   * argument holds (`ids.*`, or `items.*.environmentId` for a field of each item). Every
   * item is checked before anything runs, and one refusal refuses the whole action, naming
   * the item.
   */
  | {
      readonly kind: 'each';
      readonly key: PermissionKey;
      readonly arg: string;
      readonly type: ResourceType;
    }
  /** Resolver classes carry this as their default: anything that forgets to declare is refused. */
  | { readonly kind: 'deny' };

/** The most items one bulk mutation may name. */
export const MAX_BULK_ITEMS = 100;

export const REQUIRES_EXTENSION = 'requires';
/** On an input field: who may set it (any one requirement suffices). */
export const WRITABLE_EXTENSION = 'writableBy';
/** Marks a field requirement enforced by hiding the value (null) rather than failing. */
export const HIDE_EXTENSION = 'hideUnlessAllowed';

export const Public: Requirement = { kind: 'public' };
export const Authenticated: Requirement = { kind: 'authenticated' };

/** `key` on every record named by the list argument `arg` (see the `each` requirement). */
export function permissionOnEach(
  key: PermissionKey,
  on: { arg: string; type: ResourceType },
): Requirement {
  return { kind: 'each', key, arg: on.arg, type: on.type };
}

export function permissionOn(
  key: PermissionKey,
  on: 'root' | { arg: string; type: ResourceType },
): Requirement {
  return { kind: 'permission', key, on };
}
