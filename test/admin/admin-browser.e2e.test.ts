import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Organisation } from '../../src/organisations/organisation.entity';
import { launchChromium } from '../support/browser';
import { createTestApp, PASSWORD, type TestApp } from '../support/test-app';

/**
 * The admin GraphQL IDE in a real headless Chromium, with every request off this machine
 * refused (it must work offline: GraphiQL and React come from node_modules): sign in on the
 * admin page, the IDE loads its schema (introspection is for staff in production), a
 * mutation typed into the editor runs with the session cookie. A non-staff user gets the
 * refusal and no IDE.
 */

interface Watch {
  /** Requests the page tried to make off this machine (all refused). */
  readonly external: string[];
  /** Console errors, page errors and Content-Security-Policy violations. */
  readonly errors: string[];
}

/** What the tests use of the page's globals (the DOM types are not in this project's lib). */
interface PageGlobals {
  cspViolations?: string[];
  document: {
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (e: {
        violatedDirective: string;
        blockedURI: string;
        sourceFile: string;
        lineNumber: number;
      }) => void,
    ): void;
    querySelector(selector: string): { CodeMirror?: { getValue(): string } } | null;
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

describe('admin GraphQL IDE in Chromium, offline', () => {
  let t: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      ENABLE_ADMIN_ACCESS_USER_PASS: 'true',
      NODE_ENV: 'production',
    });
    await t.createUser('staff@example.com', { isStaff: true });
    await t.createUser('member@example.com');
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
  });

  /** A fresh browser profile whose pages can reach only loopback addresses. */
  async function openPage(): Promise<{ page: Page; watch: Watch }> {
    const context = await browser.newContext();
    contexts.push(context);
    const watch: Watch = { external: [], errors: [] };
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.has(url.hostname)) {
        watch.external.push(url.href);
        await route.abort('internetdisconnected');
        return;
      }
      await route.continue();
    });
    // Record every Content-Security-Policy violation (not all of them reach the console).
    await context.addInitScript(() => {
      const page = globalThis as unknown as PageGlobals;
      page.document.addEventListener('securitypolicyviolation', (e) => {
        (page.cspViolations ??= []).push(
          `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
        );
      });
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') watch.errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => watch.errors.push(`pageerror: ${e.message}`));
    return { page, watch };
  }

  async function signIn(page: Page, email: string): Promise<number> {
    await page.goto(`${t.url}/admin/`);
    await expect.poll(() => page.title()).toContain('Flagward administration');
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', PASSWORD);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.click('button[type="submit"]'),
    ]);
    return response!.status();
  }

  const cspViolations = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as PageGlobals).cspViolations ?? []);

  /** The text of one of GraphiQL's CodeMirror editors (query or response). */
  const editorValue = (page: Page, selector: string) =>
    page.evaluate(
      (sel) =>
        (globalThis as unknown as PageGlobals).document
          .querySelector(sel)
          ?.CodeMirror?.getValue() ?? null,
      selector,
    );

  it('signs a staff user in; the IDE loads its schema and runs a typed mutation', async () => {
    const { page, watch } = await openPage();
    expect(await signIn(page, 'staff@example.com')).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/admin/');

    // GraphiQL rendered (React, ReactDOM, GraphiQL and our bootstrap ran under the CSP).
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');

    // The schema arrived: the documentation explorer lists the root types and their fields.
    await page.click('button[aria-label="Show Documentation Explorer"]');
    const docs = page.locator('.graphiql-doc-explorer');
    await expect.poll(() => docs.innerText(), { timeout: 15_000 }).toContain('Mutation');
    await docs.getByText('Mutation', { exact: true }).click();
    await expect.poll(() => docs.innerText(), { timeout: 10_000 }).toContain('createOrganisation');

    // Type the mutation into the editor (as text input: key presses would auto-close brackets).
    const mutation = 'mutation { createOrganisation(input: {name: "From the IDE"}) { id name } }';
    await page.click('.graphiql-query-editor .CodeMirror');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(mutation);
    expect(await editorValue(page, '.graphiql-query-editor .CodeMirror')).toBe(mutation);

    await page.click('.graphiql-execute-button');
    await expect
      .poll(() => editorValue(page, '.graphiql-response .CodeMirror'), { timeout: 15_000 })
      .toContain('From the IDE');
    const response = JSON.parse((await editorValue(page, '.graphiql-response .CodeMirror'))!) as {
      data: { createOrganisation: { id: string; name: string } };
    };
    expect(response.data.createOrganisation.name).toBe('From the IDE');

    // It exists, made by the signed-in staff user.
    const org = await t.app.db.orm.em
      .fork()
      .findOne(Organisation, { id: Number(response.data.createOrganisation.id) });
    expect(org?.name).toBe('From the IDE');

    // `?query=` opens the editor with that text.
    await page.goto(`${t.url}/admin/?query=${encodeURIComponent('{ me { email } }')}`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    expect(await editorValue(page, '.graphiql-query-editor .CodeMirror')).toBe('{ me { email } }');
    await page.click('.graphiql-execute-button');
    await expect
      .poll(() => editorValue(page, '.graphiql-response .CodeMirror'), { timeout: 15_000 })
      .toContain('staff@example.com');

    // The settings dialog (a portal with its own styles) opens under the policy too.
    await page.click('button[aria-label="Open settings dialog"]');
    await page.waitForSelector('[role="dialog"]');
    await page.keyboard.press('Escape');

    expect(watch.external).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
  });

  it('shows a non-staff user the refusal and no IDE', async () => {
    const { page, watch } = await openPage();
    expect(await signIn(page, 'member@example.com')).toBe(403);
    expect(await page.locator('body').innerText()).toContain('not a staff account');
    expect(await page.locator('#graphiql').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(0);
    // Nor on a second visit: no session was opened.
    const again = await page.goto(`${t.url}/admin/`);
    expect(again!.status()).toBe(200);
    expect(await page.locator('input[name="password"]').count()).toBe(1);
    expect(await page.locator('#graphiql').count()).toBe(0);
    expect(watch.external).toEqual([]);
  });
});
