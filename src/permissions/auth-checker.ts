import type { EntityManager } from '@mikro-orm/core';
import {
  type GraphQLInputType,
  type GraphQLResolveInfo,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import type { AuthCheckerFn } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { ServerSideKey } from '../environments/server-side-key.entity';
import { FeatureSegment, FeatureState } from '../features/feature-state.entity';
import { Feature } from '../features/feature.entity';
import { MultivariateOption } from '../features/multivariate-option.entity';
import { Identity } from '../identities/identity.entity';
import { Tag } from '../projects/tag.entity';
import { Segment } from '../segments/segment.entity';
import type { GraphQLContext } from '../graphql/context';
import { OrganisationMembership } from '../organisations/membership.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Project } from '../projects/project.entity';
import {
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { WebhookDelivery } from '../webhooks/delivery.entity';
import { Webhook } from '../webhooks/webhook.entity';
import type { PermissionKey } from './keys';
import type { PermissionService, Scoped } from './permission.service';
import {
  MAX_BULK_ITEMS,
  type Requirement,
  type ResourceType,
  WRITABLE_EXTENSION,
} from './requirement';

const ENTITY_BY_TYPE = {
  organisation: Organisation,
  organisationApiKey: OrganisationApiKey,
  project: Project,
  environment: Environment,
  serverSideKey: ServerSideKey,
  feature: Feature,
  segment: Segment,
  tag: Tag,
  multivariateOption: MultivariateOption,
  featureState: FeatureState,
  segmentOverride: FeatureSegment,
  identity: Identity,
  webhook: Webhook,
  webhookDelivery: WebhookDelivery,
} as const;

const LABEL: Record<ResourceType, string> = {
  organisation: 'organisation',
  organisationApiKey: 'organisation API key',
  project: 'project',
  environment: 'environment',
  serverSideKey: 'server-side key',
  feature: 'feature',
  segment: 'segment',
  tag: 'tag',
  multivariateOption: 'multivariate option',
  featureState: 'feature state',
  segmentOverride: 'segment override',
  identity: 'identity',
  webhook: 'webhook',
  webhookDelivery: 'webhook delivery',
};

/** What seeing a record of each type takes; a record failing this reads as not found. */
export const VISIBILITY: Record<ResourceType, PermissionKey> = {
  organisation: 'ORGANISATION_MEMBER',
  // Organisation API keys exist, as far as anyone can tell, only for organisation admins.
  organisationApiKey: 'ORGANISATION_ADMIN',
  project: 'VIEW_PROJECT',
  environment: 'VIEW_ENVIRONMENT',
  // Server-side keys exist, as far as anyone can tell, only for environment admins.
  serverSideKey: 'ENVIRONMENT_ADMIN',
  feature: 'VIEW_PROJECT',
  segment: 'VIEW_PROJECT',
  tag: 'VIEW_PROJECT',
  multivariateOption: 'VIEW_PROJECT',
  featureState: 'VIEW_ENVIRONMENT',
  segmentOverride: 'VIEW_ENVIRONMENT',
  identity: 'VIEW_IDENTITIES',
  // Webhooks exist only for those who manage them: an environment's admins, and for an
  // organisation webhook (no environment) the organisation's admins.
  webhook: 'ENVIRONMENT_ADMIN',
  webhookDelivery: 'ENVIRONMENT_ADMIN',
};

/**
 * Loads the record an argument names, or fails as if it did not exist when the caller may
 * not see it. In a query that is NOT_FOUND; in a mutation, bad input naming the argument.
 */
export async function loadVisible(
  em: EntityManager,
  permissions: PermissionService,
  type: ResourceType,
  rawId: unknown,
  field: string,
  operation: 'query' | 'mutation' | 'subscription',
): Promise<Scoped> {
  const id = parseId(rawId, field);
  const entity = ENTITY_BY_TYPE[type];
  const record = (await em.findOne(entity as typeof Organisation, id)) as Scoped | null;
  if (!record || !(await permissions.can(VISIBILITY[type], record))) {
    const message = `no ${LABEL[type]} with id ${id}`;
    throw operation === 'query'
      ? new NotFoundError(LABEL[type], field)
      : new ValidationError(field, message);
  }
  return record;
}

/** Checks one requirement. Returns false to deny; throws when a denial must read as not found. */
export async function checkRequirement(
  req: Requirement,
  root: unknown,
  args: Record<string, unknown>,
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
): Promise<boolean> {
  const p = ctx.permissions;
  switch (req.kind) {
    case 'public':
      return true;
    case 'deny':
      return false;
    case 'authenticated':
      return p.isAuthenticated;
    case 'staff':
      return p.isStaff;
    case 'superuser':
      return p.isSuperuser;
    case 'model':
      return p.hasModelPermission(req.codename);
    case 'self-or-admin-of-user': {
      if (!(root instanceof User) || !p.isAuthenticated) return false;
      if (root.id === p.userId || (await p.hasModelPermission('view_user'))) return true;
      const adminOrgs = await p.adminOrganisationIds();
      if (adminOrgs.length === 0) return false;
      const shared = await ctx.em.count(OrganisationMembership, {
        user: root.id,
        organisation: { $in: adminOrgs },
      });
      return shared > 0;
    }
    case 'each': {
      const items = readEach(args, req.arg);
      if (items.length === 0) {
        throw new ValidationError(req.arg.split('.')[0]!, 'name at least one');
      }
      if (items.length > MAX_BULK_ITEMS) {
        throw new ValidationError(req.arg.split('.')[0]!, `name at most ${MAX_BULK_ITEMS}`);
      }
      for (const [field, raw] of items) {
        const record = await loadVisible(ctx.em, p, req.type, raw, field, info.operation.operation);
        if (!(await p.can(req.key, record))) {
          throw new ForbiddenError(`You need ${req.key} for ${field}; nothing was changed`, {
            permission: req.key,
            field,
          });
        }
      }
      return true;
    }
    case 'permission': {
      if (req.on === 'root') return p.can(req.key, root as Scoped);
      const raw = readPath(args, req.on.arg);
      const record = await loadVisible(
        ctx.em,
        p,
        req.on.type,
        raw,
        req.on.arg,
        info.operation.operation,
      );
      return p.can(req.key, record);
    }
  }
}

/**
 * The values a path with `*` steps names, each with its concrete path (`ids.*` →
 * `ids.0`, `ids.1`, …; `items.*.environmentId` → `items.0.environmentId`, …).
 */
function readEach(args: Record<string, unknown>, dotted: string): [string, unknown][] {
  let found: [string, unknown][] = [['', args]];
  for (const part of dotted.split('.')) {
    const next: [string, unknown][] = [];
    for (const [at, value] of found) {
      const prefix = at ? `${at}.` : '';
      if (part === '*') {
        if (Array.isArray(value)) value.forEach((v, i) => next.push([`${prefix}${i}`, v]));
      } else if (value && typeof value === 'object') {
        next.push([`${prefix}${part}`, (value as Record<string, unknown>)[part]]);
      }
    }
    found = next;
  }
  return found;
}

function readPath(args: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = args;
  for (const part of dotted.split('.')) {
    value =
      value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

function describe(req: Requirement): string {
  switch (req.kind) {
    case 'permission':
    case 'each':
      return req.key;
    case 'model':
      return req.codename;
    default:
      return req.kind;
  }
}

/**
 * type-graphql's auth checker: a field passes when any one of its requirements holds.
 * Anonymous callers get UNAUTHENTICATED; signed-in callers get FORBIDDEN naming what is missing.
 */
export const authChecker: AuthCheckerFn<GraphQLContext, Requirement> = async (
  { root, args, context, info },
  requirements,
) => {
  if (requirements.some((r) => r.kind === 'public')) return true;
  if (!context.permissions.isAuthenticated) throw new UnauthenticatedError();
  for (const req of requirements) {
    if (await checkRequirement(req, root, args, context, info)) {
      await checkWritable(root, args, context, info);
      return true;
    }
  }
  const needs = requirements.filter((r) => r.kind !== 'deny').map(describe);
  if (needs.length === 0) {
    // A resolver method that declared nothing: refused (fail-closed), and a bug to fix.
    throw new ForbiddenError(`${info.parentType.name}.${info.fieldName} declares no permission`);
  }
  throw new ForbiddenError(`You need ${needs.join(' or ')} for this`, { permission: needs[0] });
};

/**
 * Input fields declared `@WritableBy(...)` that the arguments set: each must be allowed to
 * the caller, else FORBIDDEN naming the field (checked before the resolver runs).
 */
async function checkWritable(
  root: unknown,
  args: Record<string, unknown>,
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
): Promise<void> {
  const field = info.parentType.getFields()[info.fieldName];
  if (!field) return;
  const walk = async (type: GraphQLInputType, value: unknown, path: string): Promise<void> => {
    if (value === null || value === undefined) return;
    const bare = isNonNullType(type) ? type.ofType : type;
    if (isListType(bare)) {
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) await walk(bare.ofType, item, `${path}.${i}`);
      }
      return;
    }
    if (!isInputObjectType(bare) || typeof value !== 'object') return;
    for (const input of Object.values(bare.getFields())) {
      const set = (value as Record<string, unknown>)[input.name];
      if (set === undefined) continue;
      const at = `${path}.${input.name}`;
      const writable = (input.extensions as Record<string, unknown> | undefined)?.[
        WRITABLE_EXTENSION
      ] as readonly Requirement[] | undefined;
      if (writable) {
        let allowed = false;
        for (const req of writable) {
          if (await checkRequirement(req, root, args, ctx, info)) {
            allowed = true;
            break;
          }
        }
        if (!allowed) {
          throw new ForbiddenError(
            `${at}: you need ${writable.map(describe).join(' or ')} to set this`,
            {
              field: at,
              permission: describe(writable[0]!),
            },
          );
        }
      }
      await walk(input.type, set, at);
    }
  };
  for (const arg of field.args) await walk(arg.type, args[arg.name], arg.name);
}
