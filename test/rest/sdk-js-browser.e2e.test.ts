import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { IFlagsmith } from 'flagsmith';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDay } from '../../src/usage/usage-recorder';
import { launchChromium } from '../support/browser';
import type { Workspace } from '../support/fixtures';
import {
  adminWorkspace,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import type { TestApp } from '../support/test-app';

/**
 * The Flagsmith JS client (flagsmith@10.0.0, its browser bundle) in a real headless Chromium,
 * on a page served from another origin than Flagward (so every SDK call is cross-origin and
 * needs CORS), with `realtime: true`: a change made through GraphQL reaches the page through
 * the SSE stream of sdk-rest-api.md §11 and the SDK's refetch. Its analytics timer posts the
 * evaluations, which are counted.
 */

type FlagSummary = Record<string, { enabled: boolean; value: unknown }>;

/** What the page records (see PAGE). */
interface PageLog {
  ready: boolean;
  /** Every onChange: the flags after it, and when it ran (Date.now()). */
  changes: { at: number; flags: FlagSummary; changed: string[] | null }[];
  /** Every `environment_updated` the SDK's EventSource received. */
  sse: { at: number; updatedAt: number }[];
  errors: string[];
}

interface PageGlobals {
  log: PageLog;
  flagsmith: IFlagsmith;
}

const BUNDLE = path.resolve(__dirname, '../../node_modules/flagsmith/index.js');

/** The test page: loads the SDK bundle and inits it with the config given. */
const PAGE = (config: { key: string; api: string; sse: string }) => `<!doctype html>
<html><head><meta charset="utf-8"><title>flagsmith realtime</title><link rel="icon" href="data:,">
<script src="/flagsmith.js"></script></head>
<body><script>
const config = ${JSON.stringify(config)};
const log = (window.log = { ready: false, changes: [], sse: [], errors: [] });
const summary = () =>
  Object.fromEntries(
    Object.entries(flagsmith.getAllFlags() || {}).map(([k, f]) => [k, { enabled: f.enabled, value: f.value }]),
  );
const init = flagsmith.init({
  environmentID: config.key,
  api: config.api,
  eventSourceUrl: config.sse,
  realtime: true,
  enableAnalytics: true,
  onChange: (_old, info) => log.changes.push({ at: Date.now(), flags: summary(), changed: info.flagsChanged }),
  onError: (e) => log.errors.push(String((e && e.message) || e)),
});
// init opened the stream before its first await: listen alongside the SDK.
flagsmith.eventSource.addEventListener('environment_updated', (e) =>
  log.sse.push({ at: Date.now(), updatedAt: JSON.parse(e.data).updated_at }),
);
init.then(
  () => { log.ready = true; },
  (e) => log.errors.push('init: ' + String((e && e.message) || e)),
);
</script></body></html>`;

describe('flagsmith (JS client) 10.0.0 in Chromium with realtime', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: string;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  let page: Page;
  /** GET /api/v1/flags/ requests the page made. */
  const flagFetches: number[] = [];
  const consoleErrors: string[] = [];

  let gql: Gql;
  let sdk: WorkspaceHelpers;
  const pageLog = () => page.evaluate(() => (globalThis as unknown as PageGlobals).log);

  beforeAll(async () => {
    ({ t, ws, envId, gql } = await adminWorkspace());
    sdk = workspaceHelpers(gql, ws, envId);
    await sdk.createFeature({ name: 'banner', initialValue: 'Welcome', defaultEnabled: true });
    await sdk.createFeature({ name: 'max_items', initialValue: '25', defaultEnabled: true });
    await sdk.createFeature({ name: 'dark_mode', initialValue: 'false', defaultEnabled: false });

    const bundle = readFileSync(BUNDLE);
    const html = PAGE({
      key: ws.apiKeys.Production!,
      api: `${t.url}/api/v1/`,
      sse: `${t.url}/`,
    });
    site = createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      } else if (req.url === '/flagsmith.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    expect(new URL(siteUrl).origin).not.toBe(new URL(t.url).origin);

    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (r.method() === 'GET' && r.url() === `${t.url}/api/v1/flags/`)
        flagFetches.push(Date.now());
    });
  });

  afterAll(async () => {
    await browser?.close();
    site?.closeAllConnections();
    await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
    await t?.close();
  });

  it('loads the environment flags cross-origin and opens the stream', async () => {
    await page.goto(siteUrl);
    await page.waitForFunction(
      () => {
        const { log } = globalThis as unknown as PageGlobals;
        return log.ready || log.errors.length > 0;
      },
      undefined,
      { timeout: 10_000 },
    );
    // The stream sends the current stamp on connect.
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).log.sse.length > 0,
      undefined,
      { timeout: 5_000 },
    );
    // Give a refetch (if the SDK wanted one) time to start.
    await new Promise((r) => setTimeout(r, 300));
    const log = await pageLog();
    expect(log.errors).toEqual([]);

    const initial: FlagSummary = {
      banner: { enabled: true, value: 'Welcome' },
      max_items: { enabled: true, value: 25 },
      dark_mode: { enabled: false, value: false },
    };
    expect(log.changes).toHaveLength(1);
    expect(log.changes[0]!.flags).toEqual(initial);
    expect(
      await page.evaluate(() => {
        const { flagsmith } = globalThis as unknown as PageGlobals;
        const quiet = { skipAnalytics: true };
        return [
          flagsmith.getValue('banner', quiet),
          flagsmith.getValue('max_items', quiet),
          flagsmith.hasFeature('dark_mode', quiet),
        ];
      }),
    ).toEqual(['Welcome', 25, false]);

    expect(t.app.realtime.listeners).toBe(1);
    // The SDK read the flags' X-Flagsmith-Document-Updated-At (CORS exposes it to the page),
    // and the stream's stamp on connect is the same number: it knows its flags are current
    // and does not fetch them again.
    const documentStamp = await page.evaluate(
      () =>
        (globalThis as unknown as { flagsmith: { timestamp: number | null } }).flagsmith.timestamp,
    );
    expect(log.sse).toHaveLength(1);
    expect(documentStamp).toBe(log.sse[0]!.updatedAt);
    expect(flagFetches).toHaveLength(1);
  });

  it('sees GraphQL changes through the stream, each within 3 s', async () => {
    const changes: [name: string, input: Record<string, unknown>, expected: FlagSummary[string]][] =
      [
        ['banner', { value: 'Live 1' }, { enabled: true, value: 'Live 1' }],
        ['dark_mode', { enabled: true, value: true }, { enabled: true, value: true }],
        ['max_items', { value: 40 }, { enabled: true, value: 40 }],
        ['banner', { enabled: false }, { enabled: false, value: 'Live 1' }],
      ];
    const figures: { sent: number; answered: number; event: number; flags: number }[] = [];
    for (const [name, input, expected] of changes) {
      const before = await pageLog();
      expect(before.changes.at(-1)!.flags[name]).not.toEqual(expected);
      const id = await sdk.defaultStateId(name);
      const sent = Date.now();
      await sdk.updateState(id, input);
      const answered = Date.now();
      const handle = await page.waitForFunction(
        ([n, e, seen]) => {
          const { log } = globalThis as unknown as PageGlobals;
          return log.changes
            .slice(seen)
            .find((c) => JSON.stringify(c.flags[n]) === JSON.stringify(e));
        },
        [name, expected, before.changes.length] as const,
        { timeout: 5_000, polling: 10 },
      );
      const change = (await handle.jsonValue()) as PageLog['changes'][number];
      const after = await pageLog();
      const event = after.sse.slice(before.sse.length)[0];
      expect(event, `no stream event for ${name}`).toBeDefined();
      expect(event!.updatedAt).toBeGreaterThan(before.sse.at(-1)!.updatedAt);
      expect(change.changed).toContain(name);
      figures.push({ sent, answered, event: event!.at, flags: change.at });
    }
    const ms = (f: (typeof figures)[number], at: number) => `${at - f.sent}/${at - f.answered}`;
    console.info(
      'realtime in Chromium, ms after the mutation was sent/answered: ' +
        figures
          .map((f) => `stream event ${ms(f, f.event)}, flags updated ${ms(f, f.flags)}`)
          .join('; '),
    );
    for (const f of figures) {
      expect(f.event - f.answered).toBeLessThan(1_000);
      expect(f.flags - f.sent).toBeLessThan(3_000);
    }
    const final = (await pageLog()).changes.at(-1)!.flags;
    expect(final).toEqual({
      banner: { enabled: false, value: 'Live 1' },
      max_items: { enabled: true, value: 40 },
      dark_mode: { enabled: true, value: true },
    });
    expect((await pageLog()).errors).toEqual([]);
  });

  it('posts flag evaluations on its analytics timer, which are counted', async () => {
    const analytics = `${t.url}/api/v1/analytics/flags/`;
    const posted = page.waitForResponse(
      (r) => r.url() === analytics && r.request().method() === 'POST',
      { timeout: 15_000 },
    );
    await page.evaluate(() => {
      const { flagsmith } = globalThis as unknown as PageGlobals;
      flagsmith.hasFeature('banner');
      flagsmith.hasFeature('banner');
      flagsmith.getValue('max_items');
    });
    const response = await posted;
    expect(response.status()).toBe(200);
    expect(response.request().postDataJSON()).toEqual({ banner: 2, max_items: 1 });

    await t.app.usage.flush();
    const day = utcDay(new Date());
    const res = await gql<{ featureEvaluations: { featureName: string; count: number }[] }>(
      'query($e: ID!, $d: Date!) { featureEvaluations(environmentId: $e, from: $d, to: $d) { featureName count } }',
      { e: envId, d: day },
    );
    expect(Object.fromEntries(res.featureEvaluations.map((r) => [r.featureName, r.count]))).toEqual(
      { banner: 2, max_items: 1 },
    );
    expect(consoleErrors).toEqual([]);
  }, 30_000);
});
