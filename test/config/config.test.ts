import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config';
import { runCli } from '../support/cli';

describe('configuration', () => {
  it('has working defaults: port 8000, embedded database under ./data', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(8000);
    expect(config.database).toMatchObject({ kind: 'embedded' });
    expect(config.dataDir.endsWith('/data')).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('uses DATABASE_URL, PORT and FLAGWARD_DATA_DIR', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/flags',
      PORT: '9000',
      FLAGWARD_DATA_DIR: '/srv/flagward',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db:5432/flags',
      poolMax: 10,
    });
    expect(config.http.port).toBe(9000);
    expect(config.dataDir).toBe('/srv/flagward');
  });

  it('names every bad variable, never echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        DATABASE_URL: 'mysql://root:hunter2@x/db',
        SECRET_KEY: 'short',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DATABASE_URL', 'SECRET_KEY', 'LOG_LEVEL'])
      expect(message).toContain(name);
    expect(message).not.toContain('hunter2');
  });

  it('stops the server at start-up with exit code 2 and the variable named', async () => {
    const res = await runCli(['serve'], { env: { PORT: 'eighty' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('PORT');
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const res = await runCli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Usage: flagward');
  });
});
