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
 *
 * Tokens are counted by graphql-js's own parser (`parseOptions`, for Apollo), which answers
 * 400 GRAPHQL_PARSE_FAILED: graphql-armor's max-tokens plugin parses in a plugin hook, where
 * any syntax error, not only too many tokens, became a 500.
 */
export function graphqlProtection(config: GraphQLConfig) {
  const armor = new ApolloArmor({
    maxTokens: { enabled: false },
    maxDepth: { n: config.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: config.maxAliases },
    maxDirectives: { n: config.maxDirectives },
    costLimit: { maxCost: config.maxCost, ignoreIntrospection: true, flattenFragments: true },
    blockFieldSuggestion: { enabled: true },
  }).protect();
  return {
    ...armor,
    plugins: [...armor.plugins, refuseUnstorableText()],
    parseOptions: { maxTokens: config.maxTokens },
  };
}

/**
 * Whether text holds a NUL character or half of a surrogate pair (text that is no Unicode,
 * which JSON can still write as an escape): PostgreSQL's text and jsonb can hold neither.
 */
const unstorable = (text: string): boolean => text.includes('\u0000') || /\p{Cs}/u.test(text);

/** Where in `value` (variables) a string or key holds unstorable text, as a path; or null. */
function unstorableIn(value: unknown, root: string): string | null {
  // Iterative: variables may nest deeper than the call stack goes.
  const work: [unknown, string][] = [[value, root]];
  for (let next = work.pop(); next !== undefined; next = work.pop()) {
    const [v, path] = next;
    if (typeof v === 'string') {
      if (unstorable(v)) return path;
    } else if (Array.isArray(v)) {
      v.forEach((item: unknown, i) => work.push([item, `${path}.${i}`]));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        if (unstorable(k)) return path;
        work.push([item, `${path}.${k}`]);
      }
    }
  }
  return null;
}

/**
 * Refuses text holding a NUL character or an unpaired surrogate anywhere in a request's
 * variables or in the strings of its document (BAD_USER_INPUT naming where): PostgreSQL's
 * text and jsonb cannot hold them, so they could only fail later, as an internal error (and
 * e-mail validation throws on an unpaired surrogate).
 */
export function refuseUnstorableText(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          let where = unstorableIn(request.variables ?? {}, 'variables');
          if (!where) {
            visit(document, {
              StringValue(node) {
                if (!unstorable(node.value)) return undefined;
                where = 'query';
                return BREAK;
              },
            });
          }
          if (where) {
            const message = `${where}: text may not contain NUL characters or unpaired surrogates`;
            throw new AppError('BAD_USER_INPUT', message, {
              field: where,
              http: { status: 400 },
            });
          }
        },
      };
    },
  };
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
