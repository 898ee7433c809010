import { createHash } from 'node:crypto';

/**
 * Flagsmith's bucketing hash (shared/spec/evaluation.md §4): the ids joined with `,`, MD5,
 * the digest as an unsigned integer modulo 9999, divided by 9998, times 100. A result of
 * exactly 100 is retried with the id list repeated once more, so the result is in [0, 100).
 */
export function hashedPercentage(ids: readonly string[]): number {
  for (let iterations = 1; ; iterations += 1) {
    const parts: string[] = [];
    for (let i = 0; i < iterations; i += 1) parts.push(...ids);
    const hex = createHash('md5').update(parts.join(','), 'utf8').digest('hex');
    const percentage = (Number(BigInt(`0x${hex}`) % 9999n) / 9998) * 100;
    if (percentage !== 100) return percentage;
  }
}
