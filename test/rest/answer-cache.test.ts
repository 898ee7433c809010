import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../../src/rest/answer-cache';

describe('AnswerCache', () => {
  it('keeps answers within its byte budget, dropping the least recently used', () => {
    // Each entry: key 2 characters × 2 bytes + an 8-byte answer = 12 bytes.
    const cache = new AnswerCache(36);
    cache.set('k1', Buffer.from('aaaaaaaa'));
    cache.set('k2', Buffer.from('bbbbbbbb'));
    cache.set('k3', Buffer.from('cccccccc'));
    expect(cache.size).toBe(3);
    expect(cache.get('k1')?.toString()).toBe('aaaaaaaa'); // k1 is now the most recent
    cache.set('k4', Buffer.from('dddddddd'));
    expect(cache.get('k2')).toBeUndefined();
    expect(['k1', 'k3', 'k4'].map((k) => cache.get(k)?.toString())).toEqual([
      'aaaaaaaa',
      'cccccccc',
      'dddddddd',
    ]);
  });

  it('replaces an answer under the same key without counting it twice', () => {
    const cache = new AnswerCache(24);
    cache.set('k1', Buffer.from('aaaaaaaa'));
    cache.set('k1', Buffer.from('AAAAAAAA'));
    cache.set('k2', Buffer.from('bbbbbbbb'));
    expect(['k1', 'k2'].map((k) => cache.get(k)?.toString())).toEqual(['AAAAAAAA', 'bbbbbbbb']);
  });

  it('stores nothing with a budget of 0, or an answer larger than the budget', () => {
    const off = new AnswerCache(0);
    off.set('k', Buffer.from('v'));
    expect(off.get('k')).toBeUndefined();
    const small = new AnswerCache(10);
    small.set('key', Buffer.from('a long answer'));
    expect(small.size).toBe(0);
  });
});
