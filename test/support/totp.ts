import { generate } from 'otplib';

const PERIOD = 30;

/**
 * An authenticator app for tests: each `next()` gives a code of a time step not used before,
 * the current one or the one after (the server accepts a step either side and each step once).
 * When both are used it waits for the clock.
 */
export class TestAuthenticator {
  private lastStep = 0;

  constructor(readonly secret: string) {}

  async next(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 1000 / PERIOD);
      const step = Math.max(now, this.lastStep + 1);
      if (step <= now + 1) {
        this.lastStep = step;
        return generate({ secret: this.secret, epoch: step * PERIOD + 1 });
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** A code of the step last returned again (a replay), for refusal tests. */
  async last(): Promise<string> {
    return generate({ secret: this.secret, epoch: this.lastStep * PERIOD + 1 });
  }
}
