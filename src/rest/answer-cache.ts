/**
 * Identity responses already computed, by everything that decides them, bounded by total
 * size and evicting the least recently used. Identify calls repeat with the same traits far
 * more often than they change, so most are answered without running the engine again.
 */
export class AnswerCache {
  private readonly answers = new Map<string, Buffer>();
  private bytes = 0;

  /** `maxBytes` 0 turns the cache off. */
  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const answer = this.answers.get(key);
    if (answer !== undefined) {
      // Most recently used last.
      this.answers.delete(key);
      this.answers.set(key, answer);
    }
    return answer;
  }

  set(key: string, answer: Buffer): void {
    const size = key.length * 2 + answer.length;
    if (size > this.maxBytes) return;
    const previous = this.answers.get(key);
    if (previous !== undefined) {
      this.answers.delete(key);
      this.bytes -= key.length * 2 + previous.length;
    }
    this.answers.set(key, answer);
    this.bytes += size;
    for (const [oldest, value] of this.answers) {
      if (this.bytes <= this.maxBytes) break;
      this.answers.delete(oldest);
      this.bytes -= oldest.length * 2 + value.length;
    }
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.answers.size;
  }
}
