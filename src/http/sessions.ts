import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type Session, type Store } from 'express-session';
import { ServiceUnavailableError } from '../shared/errors';

export interface BrowserSessionOptions {
  readonly secret: string | string[];
  readonly store: Store;
  readonly ttlMs: number;
}

/**
 * The browser session (an HttpOnly cookie, SameSite=Lax), stored before the answer that
 * changed it leaves.
 *
 * express-session stores a changed session while the answer is already on its way: it sends
 * the headers and all but the last byte first. A browser follows a redirect on its headers
 * alone, so the next page (the two-factor page after a password, the IDE after signing in)
 * could be asked for before the session that lets it through was stored. Here a changed,
 * regenerated or new session is stored first; a failed store answers 503 instead of an
 * answer whose session is missing.
 */
export function browserSessions(options: BrowserSessionOptions): RequestHandler {
  const sessions = session({
    name: 'flagward.sid',
    secret: options.secret,
    store: options.store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: options.ttlMs },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    sessions(req, res, (err?: unknown) => {
      if (err) return next(err);
      storeBeforeAnswering(req, res);
      next();
    });
  };
}

/** What express-session compares to see a change: the session without its cookie. */
function contentOf(sess: Session): string {
  return JSON.stringify(sess, function (this: unknown, key, value: unknown) {
    return this === sess && key === 'cookie' ? undefined : value;
  });
}

function storeBeforeAnswering(req: Request, res: Response): void {
  const loaded = req.session;
  const loadedContent = contentOf(loaded);
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]): Response => {
    const current = req.session as Session | undefined; // undefined once destroyed
    // An unchanged session (also a new one left empty) is left to express-session.
    const changed =
      current !== undefined && (current !== loaded || contentOf(current) !== loadedContent);
    if (!changed || res.headersSent) return end(...args);
    current.save((err?: unknown) => {
      if (!err) return end(...args);
      const refusal = new ServiceUnavailableError('The session could not be stored; try again.');
      const json = /json/.test(String(res.getHeader('content-type') ?? ''));
      for (const name of ['location', 'content-length', 'content-type', 'etag', 'set-cookie']) {
        res.removeHeader(name);
      }
      res.status(refusal.status).set('retry-after', '1');
      res.type(json ? 'json' : 'text');
      end(
        json
          ? JSON.stringify({
              errors: [{ message: refusal.message, extensions: refusal.extensions }],
            })
          : refusal.message,
      );
    });
    return res;
  }) as Response['end'];
}
