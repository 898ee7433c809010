import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlFootprint } from '../db/sql-footprint';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets are redacted wherever they might appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'flagward' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-environment-key"]',
        'req.headers["x-api-key"]',
        '*.password',
        '*.token',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** What is known about the request being served, for every line logged while serving it. */
export interface RequestContext {
  readonly requestId: string;
  /** Set while a GraphQL query's SQL is being noted (graphql/response-cache.ts). */
  sql?: SqlFootprint;
}

/** The request in progress, if any (set by the HTTP server for each request). */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * The logger with the request id of the request in progress on every line written while
 * serving it, whoever writes the line (services hold this logger, not a per-request child).
 */
export function withRequestIds(logger: Logger): Logger {
  return logger.child(
    {},
    {
      formatters: {
        log(object) {
          const context = requestContext.getStore();
          return context ? { ...object, requestId: context.requestId } : object;
        },
      },
    },
  );
}
