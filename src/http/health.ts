import type { MikroORM } from '@mikro-orm/core';
import { Router } from 'express';

/** Liveness: the process answers. Readiness: the database answers too (503 otherwise). */
export function healthRouter(orm: MikroORM, timeoutMs = 2000): Router {
  const router = Router();
  router.get('/health/liveness', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/readiness', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        orm.em.getConnection().execute('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
        }),
      ]);
      res.json({ status: 'ok', database: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', database: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}
