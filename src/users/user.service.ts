import { type EntityManager, raw } from '@mikro-orm/core';
import { ConflictError, ValidationError } from '../shared/errors';
import { orderedPage, type Page } from '../shared/cursor';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, type PasswordHasher } from './password';
import { User } from './user.entity';
import { USER_KEYS, type UserListArgs, userConditions } from './user-list';

export interface NewUser {
  readonly email: string;
  readonly password?: string | null;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly isStaff?: boolean;
  readonly isSuperuser?: boolean;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseEmail(email: string, field = 'email'): string {
  const trimmed = email.trim();
  if (!EMAIL.test(trimmed) || trimmed.length > 254)
    throw new ValidationError(field, 'is not a valid email address');
  return trimmed;
}

export function checkPassword(password: string, field = 'password'): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}

export class UserService {
  constructor(private readonly passwords: PasswordHasher) {}

  findByEmail(em: EntityManager, email: string): Promise<User | null> {
    return em.findOne(User, { [raw('lower(email)')]: email.trim().toLowerCase() });
  }

  async create(em: EntityManager, input: NewUser): Promise<User> {
    const email = normaliseEmail(input.email);
    if (input.password != null) checkPassword(input.password);
    if (await this.findByEmail(em, email))
      throw new ConflictError('a user with this email already exists', 'email');
    const user = em.create(User, {
      email,
      firstName: input.firstName?.trim() ?? '',
      lastName: input.lastName?.trim() ?? '',
      isStaff: input.isStaff ?? false,
      isSuperuser: input.isSuperuser ?? false,
    });
    user.passwordHash = input.password != null ? await this.passwords.hash(input.password) : null;
    await em.persistAndFlush(user);
    return user;
  }

  /** Instance-wide user list for administrators, optionally narrowed by a search term. */
  /** A page of every user of the instance (for holders of view_user). */
  list(em: EntityManager, args: UserListArgs): Promise<Page<User>> {
    const where = userConditions<User>(args.filter, (u) => u);
    return orderedPage(em, User, where, args, args.orderBy, USER_KEYS);
  }

  async setPassword(em: EntityManager, user: User, password: string): Promise<void> {
    checkPassword(password);
    user.passwordHash = await this.passwords.hash(password);
    await em.flush();
  }

  /** Email + password check. Unknown emails take as long as wrong passwords. */
  async authenticate(em: EntityManager, email: string, password: string): Promise<User | null> {
    const user = await em.findOne(
      User,
      { [raw('lower(email)')]: email.trim().toLowerCase() },
      { populate: ['passwordHash'] },
    );
    if (!user || !user.passwordHash) {
      await this.passwords.verifyDecoy(password);
      return null;
    }
    const ok = await this.passwords.verify(user.passwordHash, password);
    return ok && user.isActive ? user : null;
  }
}
