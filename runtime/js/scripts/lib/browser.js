// Shared by the browser test and scripts/bench-browser.js: `nextword web` on an export folder, and Debian's
// headless Chromium driven by playwright-core (Playwright's own browser download cannot work offline).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const NEXTWORD = process.env.NEXTWORD ?? join(ROOT, '.venv/bin/nextword');
export const CHROMIUM = process.env.NEXTWORD_CHROMIUM ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium's own connections are refused on a closed network
// and start-up stalls; --disable-quic for the same reason.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Start `nextword web exportDir` on a free port; resolves to {url, stop()} once it prints its URL. */
export function startServer(exportDir, { timeoutMs = 30000 } = {}) {
  const child = spawn(NEXTWORD, ['web', exportDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => fail(`no URL within ${timeoutMs} ms`), timeoutMs);
    function fail(why) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`\`${NEXTWORD} web ${exportDir}\` failed: ${why}\n${stderr}`));
    }
    child.on('error', (error) => fail(error.message));
    child.on('exit', (code) => fail(`exited with ${code}`));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
      if (!url) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolvePromise({ url, stop: () => child.kill() });
    });
  });
}

/** A fresh headless Chromium context (its own profile folder, removed by close()). */
export async function launchChromium({ viewport = { width: 1000, height: 620 } } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (make test-js does this as root)`);
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'nextword-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 60000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Open the demo on one model file and wait until it is ready; a load error fails with the page's message. */
export async function openDemo(context, url, model, { timeoutMs = 60000, learn = false } = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}?model=${encodeURIComponent(model)}${learn ? '' : '&learn=0'}`); // learning changes what is shown
  await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: timeoutMs });
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error || errors.length) throw new Error(`the demo cannot run ${model}: ${error ?? errors[0]}`);
  return page;
}

/** Put text in the box (as one input event) and read back the suggestions computed for exactly that text. */
export async function suggestionsFor(page, text, { type = false } = {}) {
  if (type) {
    await page.fill('#text', '');
    await page.type('#text', text, { delay: 5 });
  } else {
    await page.fill('#text', text);
  }
  await page.waitForFunction((t) => document.querySelector('#suggestions').dataset.text === t, text, { timeout: 10000 });
  return page.$$eval('#suggestions .chip', (chips) => chips.map((c) => ({ word: c.dataset.word, probability: Number(c.dataset.probability) })));
}
