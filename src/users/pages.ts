import express, { type Request, type Response, Router } from 'express';
import type { MikroORM } from '@mikro-orm/core';
import { ChangeType } from '../audit/audit.service';
import { PermissionService } from '../permissions/permission.service';
import type { Services } from '../services';
import { AppError, TooManyRequestsError } from '../shared/errors';
import { ANONYMOUS } from './principal';
import { userChange } from './user-audit';
import { User } from './user.entity';
import { normaliseEmail } from './user.service';

const ALREADY_SET_UP = 'CAN NOT INIT CONFIGURATION. USER(S) ALREADY EXIST IN SYSTEM.';

/** Headers for every page here: nothing external, never framed, never cached, no referrer. */
export function pageHeaders(res: Response): void {
  res.set({
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
}

export const escape = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escape(title)} · Flagward</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b00020}</style></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

export const field = (name: string, label: string, type: string, value = '', extra = ''): string =>
  `<label for="${name}">${escape(label)}</label><input id="${name}" name="${name}" type="${type}" value="${escape(value)}" ${extra}>`;

export const errorsOf = (errors: readonly string[]): string =>
  errors.map((e) => `<p class="error">${escape(e)}</p>`).join('');

export function text(body: unknown, key: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'string' ? value : '';
}

/**
 * Pages served as HTML forms: the password reset page the mailed links open, and the
 * first-run page Flagsmith self-hosters know (`/api/v1/users/config/init/`), which exists
 * only while there are no users.
 */
export function userPagesRouter(orm: MikroORM, services: Services): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  // The form posts to the page's own address, whose query string carries the token: the page
  // never writes the token out again (it was shown once, in the mail).
  const resetForm = (errors: readonly string[] = []): string =>
    page(
      'Choose a new password',
      `${errorsOf(errors)}<form method="post">
${field('password', 'New password', 'password', '', 'autocomplete="new-password" required minlength="8"')}
${field('password2', 'New password, again', 'password', '', 'autocomplete="new-password" required')}
<button type="submit">Set password</button></form>`,
    );

  router.get('/password-reset', (_req: Request, res: Response) => {
    pageHeaders(res);
    res.type('html').send(resetForm());
  });

  router.post('/password-reset', form, async (req: Request, res: Response) => {
    pageHeaders(res);
    // From the address the form was served at; a `token` field also works.
    const token = typeof req.query.token === 'string' ? req.query.token : text(req.body, 'token');
    const password = text(req.body, 'password');
    if (password !== text(req.body, 'password2')) {
      res
        .status(400)
        .type('html')
        .send(resetForm(['The two passwords differ.']));
      return;
    }
    try {
      await services.passwordReset.reset(orm.em.fork(), token, password, req.ip);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err instanceof TooManyRequestsError)
        res.set('Retry-After', String(err.extensions.retryAfterSeconds));
      res
        .status(err.status)
        .type('html')
        .send(resetForm([err.message]));
      return;
    }
    res
      .type('html')
      .send(page('Password set', '<p>Your new password is set. Sign in with it.</p>'));
  });

  const initForm = (values: Record<string, string>, errors: readonly string[] = []): string =>
    page(
      'Set up Flagward',
      `<p>Create the first administrator. You will get a link to choose their password.</p>
${errorsOf(errors)}<form method="post" action="/api/v1/users/config/init/">
${field('email', 'Administrator e-mail', 'email', values.email, 'required maxlength="254"')}
${field('site_name', 'Site name', 'text', values.site_name, 'maxlength="50"')}
${field('site_domain', 'Site domain', 'text', values.site_domain, 'maxlength="100"')}
<button type="submit">Create administrator</button></form>`,
    );

  const anyUser = async (): Promise<boolean> => (await orm.em.fork().count(User, {})) > 0;

  router.get('/api/v1/users/config/init/', async (_req: Request, res: Response) => {
    pageHeaders(res);
    if (await anyUser()) {
      res.status(404).type('text').send(ALREADY_SET_UP);
      return;
    }
    res.type('html').send(initForm({}));
  });

  router.post('/api/v1/users/config/init/', form, async (req: Request, res: Response) => {
    pageHeaders(res);
    const values = {
      email: text(req.body, 'email').trim(),
      site_name: text(req.body, 'site_name').trim(),
      site_domain: text(req.body, 'site_domain').trim(),
    };
    const errors: string[] = [];
    let email = '';
    try {
      email = normaliseEmail(values.email, 'email');
    } catch (err) {
      errors.push(err instanceof AppError ? err.message : 'email: not an e-mail address');
    }
    if (values.site_name.length > 50) errors.push('site_name: at most 50 characters');
    if (values.site_domain.length > 100) errors.push('site_domain: at most 100 characters');
    if (errors.length) {
      res.status(400).type('html').send(initForm(values, errors));
      return;
    }
    // One transaction holding an advisory lock: two submissions cannot both create the first user.
    const url = await orm.em.fork().transactional(async (tx) => {
      await tx
        .getConnection()
        .execute(
          "select pg_advisory_xact_lock(hashtext('flagward:init'))",
          [],
          'run',
          tx.getTransactionContext(),
        );
      if ((await tx.count(User, {})) > 0) return null;
      const user = await services.users.create(tx, {
        email,
        password: null,
        isStaff: true,
        isSuperuser: true,
      });
      await services.audit.record(
        tx,
        new PermissionService(tx, ANONYMOUS),
        userChange(user, ChangeType.CREATE, 'First superuser created on the set-up page', {
          email: user.email,
          isStaff: true,
          isSuperuser: true,
        }),
      );
      return services.passwordReset.issue(tx, user);
    });
    if (url === null) {
      res.status(404).type('text').send(ALREADY_SET_UP);
      return;
    }
    res.json({ message: 'INSTALLATION CONFIGURED SUCCESSFULLY', passwordResetUrl: url });
  });

  return router;
}
