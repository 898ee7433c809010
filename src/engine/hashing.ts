import { hash } from 'node:crypto';

/**
 * Flagsmith's bucketing hash (shared/spec/evaluation.md §4): the ids joined with `,`, MD5,
 * the digest as an unsigned integer modulo 9999, divided by 9998, times 100. A result of
 * exactly 100 is retried with the id list repeated once more, so the result is in [0, 100).
 */
export function hashedPercentage(ids: readonly string[]): number {
  for (let iterations = 1; ; iterations += 1) {
    const parts: string[] = [];
    for (let i = 0; i < iterations; i += 1) parts.push(...ids);
    const digest = hash('md5', parts.join(','), 'buffer');
    const percentage = (mod9999(digest) / 9998) * 100;
    if (percentage !== 100) return percentage;
  }
}

/**
 * The 128-bit big-endian digest modulo 9999, 32 bits at a time: every intermediate stays
 * below 9999 × 2^32, well inside a double's exact integers.
 */
function mod9999(digest: Buffer): number {
  let remainder = 0;
  for (let offset = 0; offset < 16; offset += 4) {
    remainder = (remainder * 0x1_0000_0000 + digest.readUInt32BE(offset)) % 9999;
  }
  return remainder;
}
