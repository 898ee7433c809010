import {
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
  Unique,
} from '@mikro-orm/core';
import { LoginMethod, type OAuthProvider } from './login-method';
import { User } from './user.entity';

/** A user's account at an OAuth provider, by the provider's stable subject id. */
@Entity({ tableName: 'user_social_accounts' })
@Unique({ properties: ['provider', 'subject'] })
export class SocialAccount {
  [OptionalProps]?: 'createdAt' | 'lastLoginAt';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Index()
  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: Rel<User>;

  @Enum({ items: () => LoginMethod, nativeEnumName: 'login_method' })
  provider!: OAuthProvider;

  /** The provider's id for the account (Google `sub`, GitHub's numeric id). */
  @Property({ type: 'string', length: 255 })
  subject!: string;

  /** The verified e-mail the provider gave at the last sign-in. */
  @Property({ type: 'string', length: 254 })
  email!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  lastLoginAt: Date = new Date();
}
