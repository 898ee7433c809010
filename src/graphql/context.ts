import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request, Response } from 'express';
import type { PermissionService } from '../permissions/permission.service';
import type { Services } from '../services';
import type { Principal } from '../users/principal';
import type { Loaders } from './loaders';

/** What every resolver receives: a request-scoped EntityManager, the caller and services. */
export interface GraphQLContext {
  readonly em: EntityManager;
  /** Batches what the rows of a page read (DataLoader), through `em`. */
  readonly loaders: Loaders;
  /** Replaced only by `login`, so the rest of that response sees the new user. */
  principal: Principal;
  permissions: PermissionService;
  readonly services: Services;
  readonly req: Request;
  readonly res: Response;
  readonly requestId: string;
  /** Type-level requirement results, per object (memoised by permissions/type-requirements.ts). */
  readonly typeChecks: WeakMap<object, Promise<boolean>>;
}
