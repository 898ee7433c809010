import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import type { Orm } from '../db/orm';
import type { Services } from '../services';
import { AppError, TooManyRequestsError } from '../shared/errors';
import { LoginMethod } from '../users/login-method';
import { awaitSecondFactor } from '../users/oauth.router';
import { errorsOf, escape, field, page, pageHeaders, text } from '../users/pages';
import { SessionKind } from '../users/user-session.entity';
import type { User } from '../users/user.entity';

export const ADMIN_PATH = '/admin/';
export const ADMIN_LOGIN_PATH = '/admin/login/';
export const ADMIN_LOGOUT_PATH = '/admin/logout/';
export const ADMIN_SSO_START_PATH = '/admin/admin_sso/assignment/start/';
const STATIC_PATH = '/admin/static/';
const MAX_EMAIL = 254;
const MAX_PASSWORD = 1024;

/**
 * The IDE page's policy: only our own scripts (no inline ones), GraphiQL's styles (its
 * components set inline styles) and the fonts and images its CSS embeds as data: URLs,
 * requests to this origin only, never framed.
 */
export const IDE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Staff open the IDE; superusers count as staff. Staff alone grants no data access. */
export const isStaffUser = (user: User): boolean =>
  user.isActive && (user.isStaff || user.isSuperuser);

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** A content hash, put in the URL so the file can be cached for good. */
  readonly version: string;
}

/** The files the IDE page loads: the browser builds the packages ship, and our bootstrap. */
const ASSET_SOURCES = {
  'react.production.min.js': { pkg: 'react', file: 'umd/react.production.min.js' },
  'react-dom.production.min.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js' },
  'graphiql.min.js': { pkg: 'graphiql', file: 'graphiql.min.js' },
  'graphiql.min.css': { pkg: 'graphiql', file: 'graphiql.min.css' },
  'admin.js': { pkg: null, file: 'src/admin/static/admin.js' },
  'admin.css': { pkg: null, file: 'src/admin/static/admin.css' },
} as const;
type AssetName = keyof typeof ASSET_SOURCES;
const SCRIPTS: readonly AssetName[] = [
  'react.production.min.js',
  'react-dom.production.min.js',
  'graphiql.min.js',
  'admin.js',
];
const STYLES: readonly AssetName[] = ['graphiql.min.css', 'admin.css'];

/**
 * The package root: the nearest folder above this file with Flagward's package.json. This
 * file runs from src/admin/ (ts-node, vitest) or dist/src/admin/ (after the build, which
 * copies no .js or .css), so our own static files are read from src/ under the root.
 */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
      if (name === 'flagward') return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`No Flagward package.json above ${__dirname}`);
  }
}

let loaded: ReadonlyMap<AssetName, Asset> | undefined;

/** Reads the IDE's files once per process; fails at start when one is missing. */
export function adminAssets(): ReadonlyMap<AssetName, Asset> {
  if (loaded) return loaded;
  const root = packageRoot();
  const resolve = createRequire(path.join(root, 'package.json')).resolve;
  const assets = new Map<AssetName, Asset>();
  for (const [name, source] of Object.entries(ASSET_SOURCES) as [
    AssetName,
    (typeof ASSET_SOURCES)[AssetName],
  ][]) {
    const base = source.pkg ? path.dirname(resolve(`${source.pkg}/package.json`)) : root;
    const body = readFileSync(path.join(base, source.file));
    assets.set(name, {
      body,
      type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      version: createHash('sha256').update(body).digest('hex').slice(0, 16),
    });
  }
  loaded = assets;
  return assets;
}

/** Who is asking for the admin pages. */
type Visitor =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'staff'; readonly user: User }
  | { readonly kind: 'notStaff'; readonly user: User }
  | { readonly kind: 'methodRefused'; readonly message: string };

/**
 * The admin GraphQL IDE at /admin/ (Flagsmith's Django admin place): GraphiQL for staff,
 * served from node_modules (works offline). Its queries run with the browser's session
 * through /graphql, where the API's own permissions apply. Anonymous visitors get the
 * sign-in page: "Log in using SSO" (Google) when configured, e-mail and password only with
 * ENABLE_ADMIN_ACCESS_USER_PASS=true. `sessions` is the app's express-session middleware,
 * shared with /graphql.
 */
export function adminRouter(orm: Orm, services: Services, sessions: RequestHandler): Router {
  const router = Router({ strict: true });
  const { logins, passport } = services;
  const passwordLogin = services.config.adminPasswordLogin;
  const publicOrigin = new URL(services.config.publicUrl).origin;
  const browser: RequestHandler[] = [sessions, passport.initialize(), passport.session()];
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });
  const assets = adminAssets();
  const assetUrl = (name: AssetName): string =>
    `${STATIC_PATH}${name}?v=${assets.get(name)!.version}`;

  const ssoOn = (): boolean => services.oauth.isConfigured(LoginMethod.GOOGLE);

  const html = (res: Response, status: number, body: string): void => {
    pageHeaders(res);
    res.status(status).type('html').send(body);
  };

  const loginPage = (errors: readonly string[] = [], email = ''): string => {
    const ways: string[] = [];
    if (passwordLogin) {
      ways.push(`<form method="post" action="${ADMIN_LOGIN_PATH}">
${field('email', 'E-mail', 'email', email, `autocomplete="username" required maxlength="${MAX_EMAIL}" autofocus`)}
${field('password', 'Password', 'password', '', `autocomplete="current-password" required maxlength="${MAX_PASSWORD}"`)}
<button type="submit">Log in</button></form>`);
    }
    if (ssoOn()) {
      ways.push(`<p><a href="${ADMIN_SSO_START_PATH}">Log in using SSO</a></p>`);
    }
    if (!ways.length) {
      ways.push(`<p>No way to sign in here is turned on. Set
<code>ENABLE_ADMIN_ACCESS_USER_PASS=true</code> to sign in with e-mail and password, or
<code>OAUTH_CLIENT_ID</code> and <code>OAUTH_CLIENT_SECRET</code> for Google sign-in
(“Log in using SSO”), then restart the server.</p>`);
    }
    return page(
      'Flagward administration',
      `<p>The GraphQL IDE, for staff accounts.</p>
${errorsOf(errors)}${ways.join('\n')}`,
    );
  };

  const logoutButton = `<form method="post" action="${ADMIN_LOGOUT_PATH}"><button type="submit">Log out</button></form>`;

  const notStaffPage = (user: User): string =>
    page(
      'Staff only',
      `${errorsOf([`You are signed in as ${user.email}, which is not a staff account.`])}
<p>The admin GraphQL IDE is for staff. Sign out to sign in with a staff account.</p>
${logoutButton}`,
    );

  const idePage = (user: User): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>GraphQL IDE · Flagward administration</title>
${STYLES.map((name) => `<link rel="stylesheet" href="${escape(assetUrl(name))}">`).join('\n')}
</head>
<body>
<header class="admin-bar"><strong>Flagward administration</strong>
<span class="who">${escape(user.email)}${user.isSuperuser ? ' (superuser)' : ' (staff)'}</span>
${logoutButton}</header>
<div id="graphiql">Loading the GraphQL IDE…</div>
${SCRIPTS.map((name) => `<script src="${escape(assetUrl(name))}"></script>`).join('\n')}
</body></html>`;

  /** Ends the browser's session (sign-out, or a session that no longer qualifies). */
  const endSession = (req: Request): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const destroy = (): void => {
        req.session.destroy((e) => (e ? reject(e as Error) : resolve()));
      };
      if (req.user) req.logout((err) => (err ? reject(err as Error) : destroy()));
      else destroy();
    });

  const visitor = async (req: Request): Promise<Visitor> => {
    const user = req.user as User | undefined;
    if (!user) return { kind: 'anonymous' };
    // As on /graphql: a session opened with a login method the user's organisations no
    // longer allow is ended.
    const method = req.session.loginMethod ?? LoginMethod.PASSWORD;
    const refusal = await logins.sessionRefusal(orm.em.fork(), user.id, method);
    if (refusal) {
      await endSession(req);
      return { kind: 'methodRefused', message: refusal.message };
    }
    return isStaffUser(user) ? { kind: 'staff', user } : { kind: 'notStaff', user };
  };

  /**
   * Login-CSRF defence for the forms' POSTs, without server state for anonymous visitors:
   * browsers say where a request comes from in Sec-Fetch-Site (which pages cannot set);
   * without it, the Origin must be this server's. A request naming neither is refused.
   */
  const sameOrigin = (req: Request): boolean => {
    const site = req.get('sec-fetch-site');
    if (site !== undefined) return site === 'same-origin';
    const origin = req.get('origin');
    if (!origin || origin === 'null') return false;
    return origin === publicOrigin || origin === `${req.protocol}://${req.get('host') ?? ''}`;
  };
  const crossSite = (res: Response): void =>
    html(
      res,
      403,
      page(
        'Request refused',
        `${errorsOf(['This form must be sent from this server’s own page.'])}<p><a href="${ADMIN_PATH}">Back to the administration</a></p>`,
      ),
    );

  router.get('/admin', (req: Request, res: Response) => {
    const query = req.originalUrl.indexOf('?');
    res.redirect(301, ADMIN_PATH + (query >= 0 ? req.originalUrl.slice(query) : ''));
  });

  router.get(ADMIN_PATH, ...browser, async (req: Request, res: Response) => {
    const who = await visitor(req);
    switch (who.kind) {
      case 'anonymous':
        return html(res, 200, loginPage());
      case 'methodRefused':
        return html(res, 401, loginPage([who.message]));
      case 'notStaff':
        return html(res, 403, notStaffPage(who.user));
      case 'staff':
        res.set({
          'content-security-policy': IDE_CSP,
          'x-frame-options': 'DENY',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-store',
        });
        res.status(200).type('html').send(idePage(who.user));
    }
  });

  router.get(ADMIN_LOGIN_PATH, (_req: Request, res: Response) => res.redirect(302, ADMIN_PATH));

  router.post(ADMIN_LOGIN_PATH, ...browser, form, async (req: Request, res: Response) => {
    if (!passwordLogin) {
      return html(
        res,
        404,
        page(
          'Not available',
          `${errorsOf(['Signing in with e-mail and password is turned off here (ENABLE_ADMIN_ACCESS_USER_PASS).'])}<p><a href="${ADMIN_PATH}">Back</a></p>`,
        ),
      );
    }
    if (!sameOrigin(req)) return crossSite(res);
    const email = text(req.body, 'email').trim();
    const password = text(req.body, 'password');
    const shownEmail = email.slice(0, MAX_EMAIL);
    if (!email || !password) {
      return html(res, 400, loginPage(['Enter your e-mail and password.'], shownEmail));
    }
    const wrong = (): void =>
      html(res, 401, loginPage(['Unable to sign in with the provided credentials.'], shownEmail));
    if (email.length > MAX_EMAIL || password.length > MAX_PASSWORD) return wrong();

    const em = orm.em.fork();
    let user;
    try {
      user = await logins.checkPassword(em, req, res, email, password);
    } catch (err) {
      if (!(err instanceof TooManyRequestsError)) throw err;
      res.set('retry-after', String(err.extensions.retryAfterSeconds));
      return html(res, 429, loginPage([err.message], shownEmail));
    }
    if (!user) return wrong();
    if (!isStaffUser(user)) {
      // No session: this page signs in staff only (the API has its own sign-in).
      return html(
        res,
        403,
        page(
          'Staff only',
          `${errorsOf([`${user.email} is not a staff account; the admin GraphQL IDE is for staff.`])}<p><a href="${ADMIN_PATH}">Back</a></p>`,
        ),
      );
    }
    let admission;
    try {
      admission = await logins.admit(em, user, LoginMethod.PASSWORD);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return html(res, err.status, loginPage([err.message], shownEmail));
    }
    if (admission.kind === 'twoFactor') {
      return awaitSecondFactor(req, res, admission.challenge, ADMIN_PATH);
    }
    await logins.openSession(em, req, user, admission.method, SessionKind.COOKIE);
    res.redirect(302, ADMIN_PATH);
  });

  router.post(ADMIN_LOGOUT_PATH, ...browser, async (req: Request, res: Response) => {
    if (!sameOrigin(req)) return crossSite(res);
    await endSession(req);
    res.redirect(302, ADMIN_PATH);
  });

  router.get(`${STATIC_PATH}:name`, (req: Request, res: Response, next) => {
    const name = req.params.name as string;
    const asset = Object.hasOwn(ASSET_SOURCES, name) ? assets.get(name as AssetName) : undefined;
    if (!asset) return next();
    res.set({
      'content-type': asset.type,
      // The URLs carry the content hash; the files are public (npm packages and our bootstrap).
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    });
    res.send(asset.body);
  });

  return router;
}
