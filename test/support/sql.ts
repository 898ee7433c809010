import { vi } from 'vitest';
import type { TestApp } from './test-app';

/** What `work` returned, with the SQL statements the app's ORM connection sent meanwhile. */
export async function sqlDuring<T>(
  app: TestApp,
  work: () => Promise<T>,
): Promise<{ result: T; statements: string[] }> {
  const spy = vi.spyOn(app.app.db.orm.em.getConnection(), 'execute');
  try {
    const result = await work();
    return { result, statements: spy.mock.calls.map((c) => String(c[0])) };
  } finally {
    spy.mockRestore();
  }
}
