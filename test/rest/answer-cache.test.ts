import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../../src/rest/answer-cache';

describe('AnswerCache', () => {
  it('keeps answers within its byte budget, dropping the least recently used', () => {
    // Each entry: (key 2 + answer 8 characters) × 2 bytes = 20 bytes.
    const cache = new AnswerCache(60);
    cache.set('k1', 'aaaaaaaa');
    cache.set('k2', 'bbbbbbbb');
    cache.set('k3', 'cccccccc');
    expect(cache.size).toBe(3);
    expect(cache.get('k1')).toBe('aaaaaaaa'); // k1 is now the most recent
    cache.set('k4', 'dddddddd');
    expect(cache.get('k2')).toBeUndefined();
    expect([cache.get('k1'), cache.get('k3'), cache.get('k4')]).toEqual([
      'aaaaaaaa',
      'cccccccc',
      'dddddddd',
    ]);
  });

  it('replaces an answer under the same key without counting it twice', () => {
    const cache = new AnswerCache(40);
    cache.set('k1', 'aaaaaaaa');
    cache.set('k1', 'AAAAAAAA');
    cache.set('k2', 'bbbbbbbb');
    expect([cache.get('k1'), cache.get('k2')]).toEqual(['AAAAAAAA', 'bbbbbbbb']);
  });

  it('stores nothing with a budget of 0, or an answer larger than the budget', () => {
    const off = new AnswerCache(0);
    off.set('k', 'v');
    expect(off.get('k')).toBeUndefined();
    const small = new AnswerCache(10);
    small.set('key', 'a long answer');
    expect(small.size).toBe(0);
  });
});
