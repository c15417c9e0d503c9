/**
 * The status page in a real headless Chromium (Debian's, driven by puppeteer-core): it loads, shows
 * a pod a test call started, shows a second one, marks it when it is reclaimed, draws the memory
 * chart and the pod's log lines. The screenshot of that moment is saved as
 * test/results/status-page.png; with PODKEEPER_UPDATE_SCREENSHOT=1 it replaces docs/status-page.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { ROOT } from './daemon-helpers.js';
import { onCleanup, RUN_MARKER } from './helpers.js';
import { startHttpDaemon } from './http-helpers.js';

const CHROMIUM = process.env['PODKEEPER_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
// A test run never rewrites a tracked file: the record in docs/ is replaced only when asked.
const SCREENSHOT =
  process.env['PODKEEPER_UPDATE_SCREENSHOT'] === '1'
    ? join(ROOT, 'docs', 'status-page.png')
    : join(ROOT, 'test', 'results', 'status-page.png');

/** The pods table as the page shows it: pod id → its state cell's text. */
async function podRows(page: Page): Promise<Record<string, { state: string; text: string }>> {
  return page.$$eval('#pods tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((row) => [
        row.getAttribute('data-pod') ?? '',
        { state: row.getAttribute('data-state') ?? '', text: row.children[2]?.textContent ?? '' },
      ]),
    ),
  );
}

describe('status page in a browser', () => {
  it('shows the pods calls started and updates when one is reclaimed', { timeout: 90_000 }, async () => {
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium`).toBe(true);
    const { url, request } = await startHttpDaemon({ args: ['--idle-timeout', '300', '--max-memory', '60'] });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
      // The run marker: a Chromium left behind is caught by the leak check like any other process.
      env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER },
    });
    onCleanup(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(url, { waitUntil: 'load' });
    // Loaded and talking to the daemon: its version in the header, no pods yet.
    await page.waitForFunction("document.querySelector('#daemon')?.textContent?.startsWith('v')");
    await page.waitForSelector('#no-pods:not([hidden])');

    expect(await request('call', { target: 'echo', input: { hello: 'page' } })).toMatchObject({
      success: true,
    });
    await page.waitForSelector('tr[data-pod^="echo-"][data-state="ready"]', { timeout: 15_000 });
    expect(await request('call', { target: 'noisy', input: { n: 1 } })).toMatchObject({ success: true });
    await page.waitForSelector('tr[data-pod^="noisy-"][data-state="ready"]', { timeout: 15_000 });

    // keep-alive 0: the noisy pod is reclaimed right after this answer.
    expect(await request('call', { target: 'noisy', input: { n: 2 }, keepAlive: 0 })).toMatchObject({
      success: true,
    });
    await page.waitForSelector('tr[data-pod^="noisy-"][data-state="reclaimed"]', { timeout: 15_000 });
    await page.waitForSelector('#events li[data-event="pod.reclaimed"]');
    // The pod's own log lines, live, and the memory chart with its used and budget lines.
    await page.waitForFunction("document.querySelector('#logs')?.textContent?.includes('a stray print')");
    await page.waitForSelector('#memory-chart path.used');
    await page.waitForSelector('#memory-chart path.budget');
    // Installable recipes of the index are listed beside the installed ones.
    await page.waitForSelector('#recipes tr[data-recipe="embeddings"]');

    const rows = await podRows(page);
    const echo = Object.entries(rows).find(([id]) => id.startsWith('echo-'))?.[1];
    const noisy = Object.entries(rows).find(([id]) => id.startsWith('noisy-'))?.[1];
    expect(echo?.state).toBe('ready');
    expect(noisy?.text).toMatch(/^reclaimed/);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(problems).toEqual([]);
  });
});
