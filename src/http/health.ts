import type { MikroORM } from '@mikro-orm/core';
import { Router } from 'express';

/**
 * Liveness: the process answers. Readiness: the database answers too, and the server is not
 * shutting down (503 otherwise, so a load balancer stops sending it new work). `details`
 * adds to the body (e.g. whether change notifications are being received).
 */
export function healthRouter(
  orm: MikroORM,
  timeoutMs = 2000,
  stopping: () => boolean = () => false,
  details: () => Readonly<Record<string, string>> = () => ({}),
): Router {
  const router = Router();
  router.get('/health/liveness', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/readiness', async (_req, res) => {
    if (stopping()) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        orm.em.getConnection().execute('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
        }),
      ]);
      res.json({ status: 'ok', database: 'ok', ...details() });
    } catch (err) {
      res.status(503).json({
        status: 'unavailable',
        database: 'unreachable',
        // The error's code only: its message may name hosts and ports.
        detail: `The database is unreachable (${codeOf(err)}).`,
        ...details(),
      });
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return (err as Error | null)?.message === 'timed out' ? 'timed out' : 'connection error';
}
