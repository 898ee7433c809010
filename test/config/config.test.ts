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
      timeoutMs: 5000,
    });
    expect(config.http.port).toBe(9000);
    expect(config.dataDir).toBe('/srv/flagward');
  });

  it('bounds waits for a database connection by DATABASE_TIMEOUT_SECONDS', () => {
    expect(loadConfig({ DATABASE_TIMEOUT_SECONDS: '1.5' }).database.timeoutMs).toBe(1500);
    expect(() => loadConfig({ DATABASE_TIMEOUT_SECONDS: '0' })).toThrow(ConfigError);
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

  it('reads OAuth clients under Flagsmith’s names or GOOGLE_*, and refuses half a client', () => {
    expect(loadConfig({}).oauth).toEqual({ google: undefined, github: undefined, signup: true });
    const google = loadConfig({ OAUTH_CLIENT_ID: 'id', OAUTH_CLIENT_SECRET: 'shh' }).oauth.google;
    expect(google).toMatchObject({ clientId: 'id', clientSecret: 'shh' });
    const alt = loadConfig({
      GOOGLE_CLIENT_ID: 'gid',
      GOOGLE_CLIENT_SECRET: 'gs',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:9/token',
    }).oauth.google;
    expect(alt).toMatchObject({ clientId: 'gid', tokenUrl: 'http://127.0.0.1:9/token' });
    expect(() => loadConfig({ GITHUB_CLIENT_ID: 'only-the-id' })).toThrow(
      /GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: set both or neither/,
    );
    expect(() => loadConfig({ GOOGLE_TOKEN_URL: 'ftp://x' })).toThrow(/GOOGLE_TOKEN_URL/);
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

describe('shutdown and metrics settings', () => {
  it('defaults: 25 s to drain; /metrics open, closed in production without a token', () => {
    const dev = loadConfig({});
    expect(dev.shutdownTimeoutMs).toBe(25_000);
    expect(dev.metrics).toEqual({ enabled: true, token: undefined });
    expect(loadConfig({ NODE_ENV: 'production' }).metrics.enabled).toBe(false);
    const token = 'a-long-scrape-token-0123';
    expect(loadConfig({ NODE_ENV: 'production', METRICS_TOKEN: token }).metrics).toEqual({
      enabled: true,
      token,
    });
    expect(loadConfig({ NODE_ENV: 'production', METRICS_ENABLED: 'true' }).metrics.enabled).toBe(
      true,
    );
    expect(loadConfig({ METRICS_ENABLED: 'off' }).metrics.enabled).toBe(false);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: '2.5' }).shutdownTimeoutMs).toBe(2500);
  });

  it('refuses a bad timeout or a short token, without echoing the token', () => {
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: '0' })).toThrow(/SHUTDOWN_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: 'soon' })).toThrow(
      /SHUTDOWN_TIMEOUT_SECONDS/,
    );
    let message = '';
    try {
      loadConfig({ METRICS_TOKEN: 'tiny-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('METRICS_TOKEN');
    expect(message).not.toContain('tiny-secret');
  });
});
