/**
 * GraphiQL in a real browser: Debian's Chromium (driven by playwright-core) opens the IDE
 * from a development server, and the bundled GraphiQL — React, ReactDOM and GraphiQL's UMD
 * builds served by Gatehouse — runs `{ me { subject } }` with the prefilled token of alice
 * over POST /graphql, and a subscription over graphql-ws on the same path. Any console
 * error (a CSP violation is one), page error, or request to a host other than the test
 * server fails the test, and so does a token in localStorage. A screenshot is saved to
 * test-output/graphiql.png.
 * Without /usr/bin/chromium the test is skipped locally and fails under CI (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/testServer.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = path.resolve(import.meta.dirname, '../../test-output');
const SCREENSHOT = path.join(OUTPUT_DIR, 'graphiql.png');

const missing = !existsSync(CHROMIUM) && !process.env['CI'];
if (missing)
  process.stderr.write(
    `skipping the GraphiQL browser test: ${CHROMIUM} is absent (apt-get install chromium; under CI it fails)\n`,
  );

/** The browser's view of the page: what went wrong, and what it asked of the server. */
interface Observed {
  readonly problems: string[];
  readonly posts: Array<{ contentType: string | undefined; body: string | null }>;
  readonly frames: string[];
}

function observe(page: Page, origin: string): Observed {
  const observed: Observed = { problems: [], posts: [], frames: [] };
  const host = new URL(origin).host;
  page.on('console', (message) => {
    if (message.type() === 'error') observed.problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => observed.problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) {
      observed.problems.push(`request to another host: ${request.url()}`);
    }
    if (request.method() === 'POST') {
      observed.posts.push({
        contentType: request.headers()['content-type'],
        body: request.postData(),
      });
    }
  });
  page.on('requestfailed', (request) =>
    observed.problems.push(
      `request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`,
    ),
  );
  page.on('websocket', (socket) => {
    if (new URL(socket.url()).host !== host) {
      observed.problems.push(`WebSocket to another host: ${socket.url()}`);
    }
    socket.on('framereceived', (frame) => observed.frames.push(String(frame.payload)));
  });
  return observed;
}

/**
 * The text of GraphiQL's query editor (CodeMirror 5 keeps its instance on its element).
 * A string, evaluated in the page: the project's TypeScript has no DOM types.
 */
function editorText(page: Page): Promise<string> {
  return page.evaluate<string>(
    "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()",
  );
}

/**
 * Replaces the active tab's query by typing it, as a person would, and waits until
 * GraphiQL has read it: it parses an edit 100 ms later, and a run before that would send
 * the previous operation's name. The tab's title, the operation's name, tells when.
 */
async function typeQuery(page: Page, query: string, title: string): Promise<void> {
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(query);
  // CodeMirror closes brackets as they are typed and types over them: the text is as typed.
  expect(await editorText(page)).toBe(query);
  await expect.poll(() => page.locator('.graphiql-tab-active').innerText()).toBe(title);
}

function resultText(page: Page): Promise<string> {
  return page.locator('.result-window').innerText();
}

interface Session {
  readonly server: TestServer;
  readonly browser: Browser;
  readonly page: Page;
  readonly observed: Observed;
}

/** A development server (the IDE on, the demo users' tokens prefilled) and a browser tab. */
async function openSession(): Promise<Session> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium (.ci/run)`);
  }
  const server = await startTestServer({
    NODE_ENV: 'development',
    POLICY_WATCH: 'false',
    LOG_LEVEL: 'silent',
  });
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    return { server, browser, page, observed: observe(page, server.url) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

describe.skipIf(missing)('GraphiQL in Chromium', () => {
  let session: Session | undefined;
  const open = (): Session => {
    if (!session) throw new Error('no browser session (see beforeAll)');
    return session;
  };

  beforeAll(async () => {
    session = await openSession();
  });
  afterAll(async () => {
    await session?.browser.close();
    await session?.server.stop();
  });

  it('loads the bundled IDE and runs { me { subject } } with alice’s prefilled token', async () => {
    const { server, page, observed } = open();
    await page.goto(`${server.url}/graphql`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    // A tab per demo user, alice's first and active, her token in the Headers pane.
    await expect
      .poll(() => page.locator('.graphiql-tab').allInnerTexts(), { timeout: 10_000 })
      .toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'mallory']);
    const headers = await page.locator('.graphiql-editor-tool .CodeMirror').last().innerText();
    expect(headers).toMatch(/"Authorization": "Bearer ey/);

    await typeQuery(page, '{ me { subject } }', '<untitled>');
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => resultText(page), { timeout: 10_000 }).toContain('"demo|alice"');

    // The run is in the history, which the browser keeps — without the token.
    const stored = await page.evaluate<string>('JSON.stringify(Object.entries(localStorage))');
    expect(stored).toContain('me { subject }');
    expect(stored).not.toMatch(/Bearer|eyJ/);

    // The fetcher's POST satisfies the CSRF prevention as JSON.
    const query = observed.posts.find((p) => p.body?.includes('me { subject }'));
    expect(query?.contentType).toBe('application/json');
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(observed.problems).toEqual([]);
  });

  it('opens the documentation and its dialogs within the page’s CSP', async () => {
    const { page, observed } = open();
    await page.getByLabel('Show Documentation Explorer').click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).click();
    await page.locator('.graphiql-doc-explorer').getByText('me', { exact: true }).waitFor();
    // The dialogs lock the page's scroll with a <style> element: the page's nonce lets it.
    for (const dialog of ['Open settings dialog', 'Open short keys dialog']) {
      await page.getByLabel(dialog).click();
      await page.locator('.graphiql-dialog').waitFor();
      await page.keyboard.press('Escape');
      await page.locator('.graphiql-dialog').waitFor({ state: 'detached' });
    }
    await page.getByLabel('Hide Documentation Explorer').click();
    expect(observed.problems).toEqual([]);
  });

  it('runs a subscription over graphql-ws on the same path, with the same token', async () => {
    const { server, page, observed } = open();
    await typeQuery(page, 'subscription feed { auditEvents { action actor { subject } } }', 'feed');
    await page.locator('.graphiql-execute-button').click();
    await expect
      .poll(() => observed.frames.some((f) => f.includes('connection_ack')), { timeout: 10_000 })
      .toBe(true);
    // The subscription starts after the ack: make events until the feed shows one. Bob's
    // refused read is one (`authz.denied`) that changes nothing other test files look at.
    const bob = await server.token('bob');
    await expect
      .poll(
        async () => {
          const refused = await server.gql(
            '{ auditEvents(first: 1) { edges { node { seq } } } }',
            {},
            bob,
          );
          expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
          return resultText(page);
        },
        { timeout: 15_000, interval: 500 },
      )
      .toContain('"authz.denied"');
    expect(await resultText(page)).toContain('"demo|bob"');
    expect(observed.problems).toEqual([]);
  });
});
