import { describe, expect, it } from 'vitest';
import { ResponseCache, TableVersions } from '../../src/graphql/response-cache';

describe('ResponseCache', () => {
  const data = (n: number) => ({ value: 'x'.repeat(n) });

  it('answers while the tables read are unchanged, and not after one changes', () => {
    const versions = new TableVersions();
    const cache = new ResponseCache(versions, 1_000_000);
    cache.set('k', data(1), ['features', 'tags'], versions.now());
    expect(cache.get('k')).toEqual(data(1));
    versions.bump(['environments']);
    expect(cache.get('k')).toEqual(data(1));
    versions.bump(['tags']);
    expect(cache.get('k')).toBeUndefined();
  });

  it('does not keep an answer whose tables changed while it was being made', () => {
    const versions = new TableVersions();
    const cache = new ResponseCache(versions, 1_000_000);
    const started = versions.now();
    versions.bump(['features']); // a write committed during the run
    cache.set('k', data(1), ['features'], started);
    expect(cache.get('k')).toBeUndefined();
    // Unrelated writes during the run do not matter.
    const again = versions.now();
    versions.bump(['audit_logs']);
    cache.set('k', data(1), ['features'], again);
    expect(cache.get('k')).toEqual(data(1));
  });

  it('forgets everything at once (a reconnection)', () => {
    const versions = new TableVersions();
    const cache = new ResponseCache(versions, 1_000_000);
    const started = versions.now();
    cache.set('k', data(1), ['features'], started);
    cache.forgetAll();
    expect(cache.get('k')).toBeUndefined();
    // An answer made before it cannot be kept after it.
    cache.set('k', data(1), ['features'], started);
    expect(cache.get('k')).toBeUndefined();
  });

  it('holds at most its memory, dropping the least recently used', () => {
    const versions = new TableVersions();
    const cache = new ResponseCache(versions, 10_000);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, data(1_000), ['t'], versions.now());
    expect(cache.size).toBeLessThan(10);
    expect(cache.get('k9')).toBeDefined();
    expect(cache.get('k0')).toBeUndefined();
    // Too big for it (over an eighth): not kept at all.
    cache.set('big', data(2_000), ['t'], versions.now());
    expect(cache.get('big')).toBeUndefined();
  });

  it('is off with no memory, or while other nodes cannot be heard', () => {
    expect(new ResponseCache(new TableVersions(), 0).enabled).toBe(false);
    let listening = false;
    const cache = new ResponseCache(new TableVersions(), 1_000, () => listening);
    expect(cache.enabled).toBe(false);
    listening = true;
    expect(cache.enabled).toBe(true);
  });
});
