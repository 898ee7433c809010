import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/shared/logger';
import { ApiUsageKind } from '../../src/usage/api-usage.entity';
import { UsageRecorder, utcDay } from '../../src/usage/usage-recorder';

/** A database that can be made to fail, recording what each statement was given. */
function fakeDatabase() {
  const state = { failing: false, writes: [] as { sql: string; rows: unknown[] }[] };
  const orm = {
    em: {
      getConnection: () => ({
        execute: async (sql: string, params: [string]) => {
          if (state.failing) throw new Error('connection refused');
          state.writes.push({ sql, rows: JSON.parse(params[0]) as unknown[] });
          return [];
        },
      }),
    },
  };
  const warnings: unknown[][] = [];
  const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
  return { state, warnings, recorder: new UsageRecorder(orm as never, logger, 60_000) };
}

describe('UsageRecorder', () => {
  const day = utcDay(new Date());

  it('writes one statement per table, with the counts summed per key', async () => {
    const { state, recorder } = fakeDatabase();
    recorder.countRequest(1, ApiUsageKind.FLAGS);
    recorder.countRequest(1, ApiUsageKind.FLAGS);
    recorder.countRequest(2, ApiUsageKind.IDENTITIES);
    recorder.countEvaluation(1, 'banner', 3);
    recorder.countEvaluation(1, 'banner', 2);
    recorder.countEvaluation(1, 'ignored', 0);
    await recorder.flush();
    expect(state.writes).toHaveLength(2);
    expect(state.writes[0]!.sql).toMatch(/^insert into api_usage[\s\S]*on conflict/);
    expect(state.writes[0]!.rows).toEqual([
      { environment_id: 1, day, kind: 'FLAGS', count: 2 },
      { environment_id: 2, day, kind: 'IDENTITIES', count: 1 },
    ]);
    expect(state.writes[1]!.rows).toEqual([
      { environment_id: 1, day, feature_name: 'banner', count: 5 },
    ]);
    await recorder.flush();
    expect(state.writes).toHaveLength(2);
  });

  it('keeps the counts of a failed write for the next flush, with a warning', async () => {
    const { state, warnings, recorder } = fakeDatabase();
    recorder.countRequest(1, ApiUsageKind.ENVIRONMENT_DOCUMENT);
    recorder.countEvaluation(1, 'banner', 4);
    state.failing = true;
    await expect(recorder.flush()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(2);
    recorder.countRequest(1, ApiUsageKind.ENVIRONMENT_DOCUMENT);
    recorder.countEvaluation(1, 'banner', 1);
    state.failing = false;
    await recorder.close();
    expect(state.writes.map((w) => w.rows)).toEqual([
      [{ environment_id: 1, day, kind: 'ENVIRONMENT_DOCUMENT', count: 2 }],
      [{ environment_id: 1, day, feature_name: 'banner', count: 5 }],
    ]);
  });

  describe('across UTC midnight', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('counts each request on the day it came, flushed or not in between', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-03-01T23:59:59.500Z'));
      const { state, recorder } = fakeDatabase();
      recorder.countRequest(1, ApiUsageKind.FLAGS);
      recorder.countRequest(1, ApiUsageKind.FLAGS);
      vi.setSystemTime(new Date('2026-03-02T00:00:00.100Z'));
      recorder.countRequest(1, ApiUsageKind.FLAGS);
      recorder.countEvaluation(1, 'banner', 1);
      await recorder.flush();
      // A flush after midnight with nothing counted since: the counts stay on their day.
      recorder.countRequest(2, ApiUsageKind.IDENTITIES);
      vi.setSystemTime(new Date('2026-03-03T00:00:01Z'));
      await recorder.flush();
      expect(state.writes.map((w) => w.rows)).toEqual([
        [
          { environment_id: 1, day: '2026-03-01', kind: 'FLAGS', count: 2 },
          { environment_id: 1, day: '2026-03-02', kind: 'FLAGS', count: 1 },
        ],
        [{ environment_id: 1, day: '2026-03-02', feature_name: 'banner', count: 1 }],
        [{ environment_id: 2, day: '2026-03-02', kind: 'IDENTITIES', count: 1 }],
      ]);
    });
  });
});
