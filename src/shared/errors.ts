import { GraphQLError } from 'graphql';

/**
 * Errors the application raises on purpose. Each has a stable `code` (GraphQL
 * `extensions.code`) and an HTTP status (REST). Anything else is a bug: logged, then masked.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'CONFLICT'
  | 'LIMIT_EXCEEDED'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE';

const STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  CONFLICT: 409,
  LIMIT_EXCEEDED: 429,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
  }
}

/** Invalid input; `field` is the input path (e.g. `input.name`). */
export class ValidationError extends AppError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', `${field}: ${message}`, { field });
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, field?: string) {
    super(
      'NOT_FOUND',
      field ? `${field}: ${what} not found` : `${what} not found`,
      field ? { field } : {},
    );
  }
}

export class ForbiddenError extends AppError {
  constructor(
    message = 'You do not have permission to do this',
    extra: Record<string, unknown> = {},
  ) {
    super('FORBIDDEN', message, extra);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Sign in to do this') {
    super('UNAUTHENTICATED', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, field?: string) {
    super('CONFLICT', field ? `${field}: ${message}` : message, field ? { field } : {});
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'The database is unreachable; try again shortly') {
    super('SERVICE_UNAVAILABLE', message);
  }
}

/** A plan or project limit (e.g. the number of features) would be exceeded. */
export class LimitExceededError extends AppError {
  constructor(message: string, field?: string) {
    super('LIMIT_EXCEEDED', field ? `${field}: ${message}` : message, field ? { field } : {});
  }
}

/** The caller is being throttled; `retryAfterSeconds` says when to try again. */
export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message, { retryAfterSeconds });
  }
}
