import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { MemoryStore, type SessionData } from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSessions } from '../../src/http/sessions';

declare module 'express-session' {
  interface SessionData {
    step?: string;
  }
}

/** A session store that takes its time to write, and can be made to fail. */
class SlowStore extends MemoryStore {
  writes = 0;
  failing = false;

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    setTimeout(() => {
      if (this.failing) return callback?.(new Error('store unavailable'));
      this.writes++;
      super.set(sid, data, callback);
    }, 150);
  }
}

/**
 * Browser sessions are stored before the answer that changed them leaves: a browser that
 * follows a redirect at once must find its session (express-session alone sends the headers
 * first and stores the session while the last byte waits).
 */
describe('browser sessions', () => {
  const store = new SlowStore();
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const app = express();
    app.use(browserSessions({ secret: 'test secret', store, ttlMs: 60_000 }));
    app.post('/start', (req, res) => {
      req.session.step = 'second-factor';
      res.redirect(302, '/next');
    });
    app.get('/next', (req, res) => {
      res.status(req.session.step ? 200 : 401).send(req.session.step ?? 'no session');
    });
    app.get('/look', (_req, res) => res.send('nothing kept'));
    app.post('/end', (req, res, next) => {
      req.session.destroy((err) => (err ? next(err) : res.redirect(302, '/next')));
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** The cookie a response set, as a request header. */
  const cookieOf = (res: Response): string => res.headers.getSetCookie()[0]!.split(';')[0]!;

  it('stores a changed session before the redirect leaves, so following it at once finds it', async () => {
    for (let i = 0; i < 3; i++) {
      const started = await fetch(`${url}/start`, { method: 'POST', redirect: 'manual' });
      expect(started.status).toBe(302);
      // Follow on the headers alone, as a browser does.
      const next = await fetch(`${url}/next`, { headers: { cookie: cookieOf(started) } });
      expect(await next.text()).toBe('second-factor');
      await started.arrayBuffer();
    }
  });

  it('keeps nothing for a request that leaves the session untouched', async () => {
    const before = store.writes;
    const res = await fetch(`${url}/look`);
    expect(await res.text()).toBe('nothing kept');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(store.writes).toBe(before);
  });

  it('does not store a destroyed session again', async () => {
    const started = await fetch(`${url}/start`, { method: 'POST', redirect: 'manual' });
    const cookie = cookieOf(started);
    const before = store.writes;
    const ended = await fetch(`${url}/end`, {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    });
    expect(ended.status).toBe(302);
    expect(store.writes).toBe(before);
    expect((await fetch(`${url}/next`, { headers: { cookie } })).status).toBe(401);
  });

  it('answers 503, not the redirect, when the session cannot be stored', async () => {
    store.failing = true;
    try {
      const res = await fetch(`${url}/start`, { method: 'POST', redirect: 'manual' });
      expect(res.status).toBe(503);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.text()).toMatch(/could not be stored/);
      const next = await fetch(`${url}/next`, { headers: { cookie: cookieOf(res) } });
      expect(next.status).toBe(401);
    } finally {
      store.failing = false;
    }
  });
});
