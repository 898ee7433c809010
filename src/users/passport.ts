import type { MikroORM } from '@mikro-orm/core';
import type { Request, Response } from 'express';
import { Passport } from 'passport';

export type PassportInstance = InstanceType<typeof Passport>;
import { Strategy as LocalStrategy } from 'passport-local';
import { User } from './user.entity';
import type { UserService } from './user.service';

/**
 * One Passport instance per app (not the global singleton), with the email/password
 * strategy. Sessions store only the user id.
 */
export function createPassport(orm: MikroORM, users: UserService): PassportInstance {
  const passport = new Passport();
  passport.use(
    'local',
    new LocalStrategy(
      { usernameField: 'email', passwordField: 'password', session: false },
      (email, password, done) => {
        users
          .authenticate(orm.em.fork(), email, password)
          .then((user) => done(null, user ?? false))
          .catch((err: unknown) => done(err));
      },
    ),
  );
  passport.serializeUser((user, done) => done(null, (user as User).id));
  passport.deserializeUser((id: unknown, done) => {
    if (typeof id !== 'number') return done(null, false);
    orm.em
      .fork()
      .findOne(User, { id, isActive: true })
      .then((user) => done(null, user ?? false))
      .catch((err: unknown) => done(err));
  });
  return passport;
}

/** Runs the local strategy for credentials that did not arrive as a form (GraphQL login). */
export function authenticateLocal(
  passport: PassportInstance,
  req: Request,
  res: Response,
  email: string,
  password: string,
): Promise<User | null> {
  // The strategy reads req.body; give it the credentials on a view of the real request.
  const view = Object.create(req, { body: { value: { email, password } } }) as Request;
  return new Promise((resolve, reject) => {
    const handler = passport.authenticate(
      'local',
      { session: false },
      (err: unknown, user: User | false) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(user || null);
      },
    ) as (req: Request, res: Response, next: (err?: unknown) => void) => void;
    handler(view, res, (err) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}
