import { unwrapResolverError } from '@apollo/server/errors';
import {
  NotFoundError as OrmNotFoundError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import type { GraphQLFormattedError } from 'graphql';
import { AppError } from '../shared/errors';
import type { Logger } from '../shared/logger';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);

/**
 * Maps every error leaving the API to a stable `extensions.code`. Expected errors keep their
 * message; anything unexpected is logged with the request id and answered as a masked
 * INTERNAL_SERVER_ERROR.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };

    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: { ...original.extensions } };
    }
    if (original instanceof OrmNotFoundError) {
      return { ...base, message: 'Not found', extensions: { code: 'NOT_FOUND' } };
    }
    if (original instanceof UniqueConstraintViolationException) {
      return {
        ...base,
        message: 'This conflicts with an existing record',
        extensions: { code: 'CONFLICT' },
      };
    }
    const code = (original as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
      logger.warn({ err: original }, 'database unavailable');
      return {
        ...base,
        message: 'The database is unreachable; try again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      };
    }
    // Errors GraphQL itself produced (parse, validation, variable coercion) are safe to show.
    const existing = formatted.extensions?.code;
    if (existing && existing !== 'INTERNAL_SERVER_ERROR') return formatted;
    logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL request');
    return {
      ...base,
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
