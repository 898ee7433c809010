import type { GraphQLField, GraphQLObjectType } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { NotFoundError, UnauthenticatedError } from '../shared/errors';
import { checkRequirement } from './auth-checker';
import { HIDE_EXTENSION, REQUIRES_EXTENSION, type Requirement } from './requirement';

function requirementsOf(
  holder: GraphQLObjectType | GraphQLField<unknown, unknown>,
): readonly Requirement[] | undefined {
  return (holder.extensions as Record<string, unknown> | undefined)?.[REQUIRES_EXTENSION] as
    readonly Requirement[] | undefined;
}

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/**
 * Enforces object-level rules declared with `@TypeRequires` (checked once per object) and
 * hidden fields declared with `@FieldRequires` (read as null). Root fields are guarded by
 * the auth checker instead.
 */
export const requirementMiddleware: MiddlewareFn<GraphQLContext> = async (
  { root, args, context, info },
  next,
) => {
  const parent = info.parentType;
  if (ROOT_TYPES.has(parent.name) || root === null || typeof root !== 'object') return next();

  const typeRequirements = requirementsOf(parent);
  if (typeRequirements) {
    let verdict = context.typeChecks.get(root);
    if (!verdict) {
      verdict = anyHolds(typeRequirements, root, args, context, info);
      context.typeChecks.set(root, verdict);
    }
    if (!(await verdict)) {
      if (!context.permissions.isAuthenticated) throw new UnauthenticatedError();
      // Reaching an object one may not see is treated as not finding it.
      throw new NotFoundError(parent.name);
    }
  }

  const field = parent.getFields()[info.fieldName];
  const fieldRequirements = field ? requirementsOf(field) : undefined;
  if (field && fieldRequirements && (field.extensions as Record<string, unknown>)[HIDE_EXTENSION]) {
    if (!(await anyHolds(fieldRequirements, root, args, context, info))) return null;
  }
  return next();
};

async function anyHolds(
  requirements: readonly Requirement[],
  ...rest: Parameters<typeof checkRequirement> extends [Requirement, ...infer R] ? R : never
): Promise<boolean> {
  for (const req of requirements) {
    if (await checkRequirement(req, ...rest)) return true;
  }
  return false;
}
