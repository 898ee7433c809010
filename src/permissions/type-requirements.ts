import {
  defaultFieldResolver,
  getNamedType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  isObjectType,
} from 'graphql';
import type { GraphQLContext } from '../graphql/context';
import { NotFoundError, UnauthenticatedError } from '../shared/errors';
import { checkRequirement } from './auth-checker';
import { HIDE_EXTENSION, REQUIRES_EXTENSION, type Requirement } from './requirement';

type Resolver = GraphQLFieldResolver<unknown, GraphQLContext>;

function requirementsOf(
  holder: GraphQLObjectType | GraphQLField<unknown, unknown>,
): readonly Requirement[] | undefined {
  return (holder.extensions as Record<string, unknown> | undefined)?.[REQUIRES_EXTENSION] as
    readonly Requirement[] | undefined;
}

/**
 * Enforces, once per schema, what `@TypeRequires` and `@FieldRequires` declare:
 *
 * - An object of a type with requirements is checked where it comes out: every field whose
 *   type (through lists and non-null) is that type checks each object it produces, once per
 *   object and request. An object the caller may not see makes the field fail as if it were
 *   not there (NOT_FOUND; UNAUTHENTICATED for anonymous callers).
 * - A field with `@FieldRequires` reads as null for a caller who does not meet it.
 *
 * Only those fields are wrapped. Every other field keeps the resolver type-graphql gave it,
 * which for a plain property is a synchronous read: a page of records does not pay a
 * permission step on each scalar of each record.
 *
 * Root fields are also guarded by the auth checker (`@Requires`); what they return is
 * checked here like anything else.
 */
export function enforceTypeRequirements(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const produced = getNamedType(field.type);
      const typeRequirements = isObjectType(produced) ? requirementsOf(produced) : undefined;
      const hidden = field.extensions[HIDE_EXTENSION] ? requirementsOf(field) : undefined;
      if (!typeRequirements && !hidden) continue;
      let resolve = (field.resolve ?? defaultFieldResolver) as Resolver;
      if (hidden) resolve = hideUnlessAllowed(resolve, hidden);
      if (typeRequirements) {
        for (const req of typeRequirements) {
          if (req.kind === 'permission' && req.on !== 'root') {
            throw new Error(`@TypeRequires on ${produced.name} may only check the object itself`);
          }
          if (req.kind === 'each') {
            throw new Error(`@TypeRequires on ${produced.name} cannot be a bulk requirement`);
          }
        }
        resolve = checkProduced(resolve, produced.name, typeRequirements);
      }
      field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
    }
  }
  return schema;
}

function hideUnlessAllowed(resolve: Resolver, requirements: readonly Requirement[]): Resolver {
  return async (root, args, context, info) =>
    (await anyHolds(requirements, root, args, context, info))
      ? resolve(root, args, context, info)
      : null;
}

function checkProduced(
  resolve: Resolver,
  typeName: string,
  requirements: readonly Requirement[],
): Resolver {
  return async (root, args, context, info) => {
    const value: unknown = await resolve(root, args, context, info);
    const objects: object[] = [];
    collectObjects(value, objects);
    if (objects.length === 0) return value;
    const verdicts = await Promise.all(
      objects.map((object) => {
        let verdict = context.typeChecks.get(object);
        if (!verdict) {
          verdict = anyHolds(requirements, object, args, context, info);
          context.typeChecks.set(object, verdict);
        }
        return verdict;
      }),
    );
    if (verdicts.every(Boolean)) return value;
    if (!context.permissions.isAuthenticated) throw new UnauthenticatedError();
    // Reaching an object one may not see is treated as not finding it.
    throw new NotFoundError(typeName);
  };
}

/** The objects a field's value holds, through nested lists. */
function collectObjects(value: unknown, into: object[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectObjects(item, into);
  } else if (value !== null && typeof value === 'object') {
    into.push(value);
  }
}

async function anyHolds(
  requirements: readonly Requirement[],
  ...rest: Parameters<typeof checkRequirement> extends [Requirement, ...infer R] ? R : never
): Promise<boolean> {
  for (const req of requirements) {
    if (await checkRequirement(req, ...rest)) return true;
  }
  return false;
}
