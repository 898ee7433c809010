import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { generateSecret, generateURI, verify } from 'otplib';
import { ConflictError, ValidationError } from '../shared/errors';
import { sha256Hex } from '../shared/ids';
import type { SecretBox } from '../shared/secret-box';
import { BackupCode } from './backup-code.entity';
import { User } from './user.entity';

/** A code that is not the current one of the authenticator app being set up. */
export class WrongTwoFactorCode extends ValidationError {
  constructor() {
    super('code', 'is not the current code of the authenticator app (start setup first)');
  }
}

export interface TwoFactorSetup {
  /** The seed in base32, for typing into an app that cannot scan the URI. */
  readonly manualEntryKey: string;
  /** `otpauth://totp/…`, usually shown as a QR code. */
  readonly otpauthUri: string;
}

/** How many backup codes a user holds at a time. */
export const BACKUP_CODE_COUNT = 10;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** An 80-bit random code written as four groups of four base32 letters: `abcd-efgh-…`. */
function newBackupCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (let i = 0; i < 16; i++) {
    code += BASE32[bytes[i]! & 31];
    if (i % 4 === 3 && i < 15) code += '-';
  }
  return code;
}

/** What is stored of a backup code: letters only, lower case, hashed. */
function backupCodeHash(code: string): string {
  return sha256Hex(`backup-code:${code.replace(/[\s-]/g, '').toLowerCase()}`);
}

const sealContext = (userId: number): string => `totp:${userId}`;

/**
 * Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s) with single-use backup
 * codes. The seed is sealed with the instance key; each accepted time step is recorded with
 * one conditional update, so a code is good once even when two nodes see it at the same time.
 */
export class TwoFactorService {
  constructor(
    private readonly secrets: SecretBox,
    private readonly issuer: string,
  ) {}

  /** Starts (or starts again) setting up: a new seed, stored sealed, not yet in force. */
  async begin(em: EntityManager, user: User): Promise<TwoFactorSetup> {
    if (user.twoFactorEnabled) {
      throw new ConflictError('Two-factor sign-in is already on; turn it off to set it up again');
    }
    const secret = generateSecret();
    await em.nativeUpdate(
      User,
      { id: user.id },
      { totpSealed: this.secrets.seal(secret, sealContext(user.id)), totpLastStep: null },
    );
    return {
      manualEntryKey: secret,
      otpauthUri: generateURI({ issuer: this.issuer, label: user.email, secret }),
    };
  }

  /** Turns two-factor sign-in on with a first code from the app; returns new backup codes. */
  async confirm(em: EntityManager, user: User, code: string): Promise<string[]> {
    if (user.twoFactorEnabled) throw new ConflictError('Two-factor sign-in is already on');
    if (!(await this.verifyTotp(em, user.id, code))) throw new WrongTwoFactorCode();
    user.totpEnabledAt = new Date();
    await em.nativeUpdate(User, { id: user.id }, { totpEnabledAt: user.totpEnabledAt });
    return this.replaceBackupCodes(em, user);
  }

  /** Turns two-factor sign-in off: the seed and every backup code are deleted. */
  async disable(em: EntityManager, user: User): Promise<void> {
    user.totpEnabledAt = null;
    await em.nativeUpdate(
      User,
      { id: user.id },
      { totpSealed: null, totpEnabledAt: null, totpLastStep: null },
    );
    await em.nativeDelete(BackupCode, { user: user.id });
  }

  /** A new set of backup codes; the old ones stop working. Shown once. */
  async replaceBackupCodes(em: EntityManager, user: User): Promise<string[]> {
    await em.nativeDelete(BackupCode, { user: user.id });
    const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
    await em.insertMany(
      BackupCode,
      codes.map((code) => ({ user: user.id, codeHash: backupCodeHash(code) })),
    );
    return codes;
  }

  async unusedBackupCodes(em: EntityManager, userId: number): Promise<number> {
    return em.count(BackupCode, { user: userId, usedAt: null });
  }

  /** A six-digit TOTP code or an unused backup code; either is used up by this call. */
  async verifyAnyCode(em: EntityManager, user: User, code: string): Promise<boolean> {
    const compact = code.replace(/\s/g, '');
    if (/^\d{6}$/.test(compact)) return this.verifyTotp(em, user.id, compact);
    if (compact.length > 64) return false;
    const used = await em.nativeUpdate(
      BackupCode,
      { user: user.id, codeHash: backupCodeHash(compact), usedAt: null },
      { usedAt: new Date() },
    );
    return used === 1;
  }

  /** Checks a TOTP code against the stored seed (one step of clock drift either way). */
  private async verifyTotp(em: EntityManager, userId: number, code: string): Promise<boolean> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return false;
    const row = await em.findOne(User, { id: userId }, { populate: ['totpSealed'], refresh: true });
    if (!row?.totpSealed) return false;
    const secret = this.secrets.open(row.totpSealed, sealContext(userId));
    const result = await verify({
      secret,
      token,
      epochTolerance: 30,
      ...(row.totpLastStep != null && { afterTimeStep: row.totpLastStep }),
    });
    if (!result.valid || !('timeStep' in result)) return false;
    const claimed = await em.nativeUpdate(
      User,
      {
        id: userId,
        $or: [{ totpLastStep: null }, { totpLastStep: { $lt: result.timeStep } }],
      },
      { totpLastStep: result.timeStep },
    );
    return claimed === 1;
  }
}
