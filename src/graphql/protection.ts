import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { BREAK, type DocumentNode, visit } from 'graphql';
import type { GraphQLConfig } from '../config/config';
import { AppError } from '../shared/errors';
import type { GraphQLContext } from './context';

/**
 * Limits checked while a request is parsed and validated, before anything runs: tokens,
 * depth, aliases, directives and an estimated cost. Field suggestions ("Did you mean …") are
 * masked, stack traces never sent, and batched requests refused.
 */
export function graphqlProtection(config: GraphQLConfig) {
  return new ApolloArmor({
    maxTokens: { n: config.maxTokens },
    maxDepth: { n: config.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: config.maxAliases },
    maxDirectives: { n: config.maxDirectives },
    costLimit: { maxCost: config.maxCost, ignoreIntrospection: true, flattenFragments: true },
    blockFieldSuggestion: { enabled: true },
  }).protect();
}

/** Whether a document asks for the schema (`__schema` or `__type`; `__typename` is fine). */
export function asksForSchema(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Introspection for everyone (development), for staff only (production's default: the admin
 * IDE still has its schema), or for nobody.
 */
export function introspectionGate(
  mode: GraphQLConfig['introspection'],
): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      if (mode === 'everyone') return;
      return {
        async didResolveOperation({ document, contextValue }) {
          if (!asksForSchema(document)) return;
          if (mode === 'staff' && contextValue.permissions.isStaff) return;
          throw new AppError(
            'FORBIDDEN',
            mode === 'staff'
              ? 'Introspection is available to staff only'
              : 'Introspection is turned off',
            { reason: 'INTROSPECTION_DISABLED', http: { status: 403 } },
          );
        },
      };
    },
  };
}
