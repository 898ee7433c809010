import { unwrapResolverError } from '@apollo/server/errors';
import {
  NotFoundError as OrmNotFoundError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDatabaseUnavailable } from '../db/unavailable';
import { AppError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { GraphQLContext } from './context';

type Kind =
  | 'app'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'graphql'
  | 'bad-variables'
  | 'data'
  | 'unexpected';

/**
 * PostgreSQL's answers to a value its column cannot take (SQLSTATE 22001, 22003): bad input
 * that got past the input checks, e.g. text whose characters class-validator's MaxLength
 * counts differently (it leaves out variation selectors). The statement failed, so the
 * transaction wrote nothing.
 */
const DATA_ERRORS: Readonly<Record<string, string>> = {
  '22001': 'A value is longer than its field allows',
  '22003': 'A number is out of the range its field allows',
};

/** The SQLSTATE of a data error among the error's causes, if any. */
function dataError(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in DATA_ERRORS) return code;
    e = (e as { cause?: unknown }).cause ?? (e as { previous?: unknown }).previous;
  }
  return undefined;
}

const INVALID_VARIABLE = /^(Variable "\$[_A-Za-z][_0-9A-Za-z]*" got) invalid value /;

/**
 * graphql-js's message for a variable that does not coerce, without the value it prints
 * (`Variable "$i" got invalid value { email: …, password: "…" }; Field …`): the value may hold
 * a secret (a password beside a missing e-mail), and answers do not repeat secrets. The value
 * is printed by graphql-js's `inspect` (strings JSON-quoted), so it ends at the first ` at "`
 * or `; ` outside strings and brackets.
 */
export function withoutVariableValue(message: string): string {
  const head = INVALID_VARIABLE.exec(message);
  if (!head) return message;
  let depth = 0;
  let inString = false;
  for (let i = head[0].length; i < message.length; i++) {
    const c = message[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (depth === 0 && (message.startsWith(' at "', i) || message.startsWith('; ', i))) {
      return `${head[1]} an invalid value${message.slice(i)}`;
    }
  }
  return `${head[1]} an invalid value.`;
}

/** What graphql-js says, without a code, after 50 variables failed to coerce (bad input). */
const TOO_MANY_VARIABLE_ERRORS =
  'Too many errors processing variables, error limit reached. Execution aborted.';

/** What an error leaving a GraphQL request is, by its original (unwrapped) error. */
function classify(error: unknown): { readonly kind: Kind; readonly original: unknown } {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) return { kind: 'app', original };
  if (original instanceof OrmNotFoundError) return { kind: 'not-found', original };
  if (original instanceof UniqueConstraintViolationException) return { kind: 'conflict', original };
  if (isDatabaseUnavailable(original)) return { kind: 'unavailable', original };
  if (dataError(original)) return { kind: 'data', original };
  // Errors GraphQL itself produced (parse, validation, variable coercion) carry their code.
  const existing = error instanceof GraphQLError ? error.extensions.code : undefined;
  if (typeof existing === 'string' && existing !== 'INTERNAL_SERVER_ERROR') {
    return { kind: 'graphql', original };
  }
  if (error instanceof GraphQLError && error.message === TOO_MANY_VARIABLE_ERRORS) {
    return { kind: 'bad-variables', original };
  }
  return { kind: 'unexpected', original };
}

/**
 * Maps every error leaving the API to a stable `extensions.code`. Expected errors keep their
 * message; anything unexpected is answered as a masked INTERNAL_SERVER_ERROR (and logged,
 * with the request id, by `errorLogging`).
 */
/** How an outage is answered (also by the HTTP layer, for failures before GraphQL runs). */
export const DATABASE_UNAVAILABLE_ERROR = {
  message: 'The database is unreachable; try again shortly',
  extensions: { code: 'SERVICE_UNAVAILABLE' },
} as const;

export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const { kind, original } = classify(error);
  const base = { locations: formatted.locations, path: formatted.path };
  switch (kind) {
    case 'app':
      return {
        ...base,
        message: (original as AppError).message,
        extensions: { ...(original as AppError).extensions },
      };
    case 'not-found':
      return { ...base, message: 'Not found', extensions: { code: 'NOT_FOUND' } };
    case 'conflict':
      return {
        ...base,
        message: 'This conflicts with an existing record',
        extensions: { code: 'CONFLICT' },
      };
    case 'unavailable':
      return { ...base, ...DATABASE_UNAVAILABLE_ERROR };
    case 'graphql':
      return {
        ...base,
        message: withoutVariableValue(formatted.message),
        extensions: { code: formatted.extensions?.code },
      };
    case 'data':
      return {
        ...base,
        message: DATA_ERRORS[dataError(original)!]!,
        extensions: { code: 'BAD_USER_INPUT' },
      };
    case 'bad-variables':
      return { ...base, message: formatted.message, extensions: { code: 'BAD_USER_INPUT' } };
    case 'unexpected':
      return {
        ...base,
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      };
  }
}

/** Logs what went wrong in a request, with its request id: unexpected errors and outages. */
export function errorLogging(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const { kind, original } = classify(error);
            const fields = { err: original, path: error.path, requestId: contextValue.requestId };
            if (kind === 'unexpected') logger.error(fields, 'unexpected error in GraphQL request');
            else if (kind === 'unavailable') logger.warn(fields, 'database unavailable');
          }
        },
      };
    },
  };
}

/**
 * A request refused by a rate limit (TOO_MANY_REQUESTS) is answered with HTTP 429 and the
 * standard `Retry-After` header, besides `extensions.retryAfterSeconds`.
 */
export function throttledStatus(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ errors, response }) {
          const throttled = errors
            ?.map((error) => unwrapResolverError(error))
            .find(
              (error): error is AppError =>
                error instanceof AppError && error.code === 'TOO_MANY_REQUESTS',
            );
          if (!throttled) return;
          response.http.status = 429;
          response.http.headers.set(
            'retry-after',
            String(throttled.extensions.retryAfterSeconds ?? 1),
          );
        },
      };
    },
  };
}
