import { Algorithm, hash, verify } from '@node-rs/argon2';

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

/** Argon2id, PHC string format (parameters and salt travel with the hash). */
export class PasswordHasher {
  /** A hash of a random password: verifying against it costs what a real check costs. */
  private decoy: Promise<string> | undefined;

  constructor(private readonly params: Argon2Params) {}

  hash(password: string): Promise<string> {
    return hash(password, {
      algorithm: Algorithm.Argon2id,
      memoryCost: this.params.memoryCost,
      timeCost: this.params.timeCost,
      parallelism: 1,
    });
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  /** Spend the time of one verification, so unknown accounts answer as slowly as known ones. */
  async verifyDecoy(password: string): Promise<false> {
    this.decoy ??= this.hash(`decoy-${Math.random()}`);
    await this.verify(await this.decoy, password);
    return false;
  }
}
