import type { MikroORM } from '@mikro-orm/core';
import type { NextFunction, Request, Response } from 'express';
import { SERVER_KEY_PREFIX } from '../environments/server-side-key.entity';
import { sha256Hex } from '../shared/ids';

/** Which kind of key a request presented (Flagsmith's request origin). */
export type KeyOrigin = 'CLIENT' | 'SERVER';

/** The environment an SDK request is for, resolved from `X-Environment-Key`. */
export interface SdkEnvironment {
  readonly environmentId: number;
  readonly origin: KeyOrigin;
  /** `environments.updated_at`: the document's stamp. */
  readonly updatedAt: Date;
  /**
   * Everything read with the key that the cached document depends on: the stamp plus the
   * project and organisation settings whose changes do not touch `updated_at`.
   */
  readonly version: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    sdkEnvironment?: SdkEnvironment;
  }
}

/** The exact `detail` messages of Flagsmith's SDK authentication (sdk-rest-api.md §2.3). */
export const KEY_ERRORS = {
  missing: 'Invalid or missing Environment key',
  unknown: 'Invalid or missing Environment Key',
  stopped: 'Organisation is disabled from serving flags.',
} as const;

interface KeyRow {
  readonly id: number;
  readonly updated_at: Date | string;
  readonly project_name: string;
  readonly hide_disabled_flags: boolean;
  readonly enable_realtime_updates: boolean;
  readonly organisation_name: string;
  readonly feature_analytics: boolean;
  readonly stop_serving_flags: boolean;
  readonly persist_trait_data: boolean;
}

const COLUMNS = `e.id, e.updated_at, p.name as project_name, p.hide_disabled_flags,
  p.enable_realtime_updates, o.name as organisation_name, o.feature_analytics,
  o.stop_serving_flags, o.persist_trait_data`;
const JOINS = `join projects p on p.id = e.project_id join organisations o on o.id = p.organisation_id`;
const BY_CLIENT_KEY = `select ${COLUMNS} from environments e ${JOINS} where e.api_key = ?`;
const BY_SERVER_KEY = `select ${COLUMNS} from environment_server_keys k
  join environments e on e.id = k.environment_id ${JOINS}
  where k.key_hash = ? and k.active and (k.expires_at is null or k.expires_at > now())`;

/** Longest key looked up; anything longer cannot be one of ours. */
const MAX_KEY_LENGTH = 100;

/** The environment resolved by `environmentKey()`; only call behind that middleware. */
export function sdkEnvironmentOf(req: Request): SdkEnvironment {
  const found = req.sdkEnvironment;
  if (!found) throw new Error('environmentKey middleware did not run');
  return found;
}

/**
 * Resolves `X-Environment-Key` with one query: a client key (`Environment.apiKey`) or a
 * server key (`ser.…`, matched by SHA-256; inactive or expired keys are refused). With
 * `serverOnly`, client keys are refused as Flagsmith's environment-document view does.
 */
export function environmentKey(orm: MikroORM, options: { serverOnly?: boolean } = {}) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = req.get('x-environment-key') ?? '';
    const origin: KeyOrigin = key.startsWith(SERVER_KEY_PREFIX) ? 'SERVER' : 'CLIENT';
    if (!key || (options.serverOnly && origin !== 'SERVER')) {
      res.status(403).json({ detail: KEY_ERRORS.missing });
      return;
    }
    if (key.length > MAX_KEY_LENGTH) {
      res.status(403).json({ detail: KEY_ERRORS.unknown });
      return;
    }
    const [sql, param] =
      origin === 'SERVER' ? [BY_SERVER_KEY, sha256Hex(key)] : [BY_CLIENT_KEY, key];
    orm.em
      .getConnection()
      .execute(sql, [param], 'all')
      .then((rows: KeyRow[]) => {
        const row = rows[0];
        if (!row) {
          res.status(403).json({ detail: KEY_ERRORS.unknown });
          return;
        }
        if (row.stop_serving_flags) {
          res.status(403).json({ detail: KEY_ERRORS.stopped });
          return;
        }
        const updatedAt = new Date(row.updated_at);
        req.sdkEnvironment = {
          environmentId: row.id,
          origin,
          updatedAt,
          version: JSON.stringify([
            updatedAt.getTime(),
            row.project_name,
            row.hide_disabled_flags,
            row.enable_realtime_updates,
            row.organisation_name,
            row.feature_analytics,
            row.stop_serving_flags,
            row.persist_trait_data,
          ]),
        };
        next();
      })
      .catch(next);
  };
}
