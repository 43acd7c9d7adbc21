// The demo page in headless Chromium: `nextword web` serves a fixture export, the test types into the page
// and reads the suggestions back. They must be the Python runtime's suggest() (same words in the same casing,
// probabilities within 1e-5; between words and mid-word)
// on onnxruntime-web (model.onnx) and on LiteRT.js (model.batch1.tflite), for the window and the sequence
// kind (the fixture's sequence/ folder, when present). Needs NEXTWORD_JS_FIXTURES
// (test/make_fixtures.sh, which `make test-js` runs); with it, a missing Chromium fails rather than skips.
// NEXTWORD_SCREENSHOT=FILE also copies the screenshot there, typed with NEXTWORD_SCREENSHOT_TEXT.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchChromium, openDemo, startServer, suggestionsFor } from '../scripts/lib/browser.js';

const dir = process.env.NEXTWORD_JS_FIXTURES;
const skip = dir && existsSync(join(dir, 'browser-expected.json')) ? false
  : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';
const TOLERANCE = 1e-5;
const ENGINES = { 'model.onnx': 'onnxruntime-web', 'model.batch1.tflite': 'LiteRT.js', 'model.int8.onnx': 'onnxruntime-web', 'model.int8.batch1.tflite': 'LiteRT.js' };

describe('the web demo in Chromium', { skip, timeout: 240000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer(join(dir, 'export'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    server?.stop();
  });

  const kinds = { window: dir, sequence: dir && join(dir, 'sequence') };
  for (const [kind, folder] of Object.entries(kinds)) {
    for (const [model, engine] of Object.entries(ENGINES)) {
      test(`${engine} (${kind} ${model}) suggests the Python runtime's words as you type`, async (t) => {
        if (!existsSync(join(folder, 'browser-expected.json'))) return t.skip(`no ${kind} fixture in ${folder}`);
        const kindServer = kind === 'window' ? server : await startServer(join(folder, 'export'));
        try {
          await typeAndCompare(kindServer.url, model, engine, JSON.parse(readFileSync(join(folder, 'browser-expected.json'), 'utf8')));
        } finally {
          if (kindServer !== server) kindServer.stop();
        }
      });
    }
  }

  async function typeAndCompare(url, model, engine, expected) {
    const page = await openDemo(browser.context, url, model);
    assert.match(await page.textContent('#status'), new RegExp(engine.replace('.', '\\.')));
    for (const [i, text] of expected.texts.entries()) {
      const got = await suggestionsFor(page, text, { type: i === 3 }); // one typed key by key
      const want = expected[model][i];
      const label = `${model} text #${i} ${JSON.stringify(text).slice(0, 50)}`;
      assert.deepEqual(got.map((s) => s.word), want.words, label);
      got.forEach((s, j) => assert.ok(Math.abs(s.probability - want.probs[j]) <= TOLERANCE, `${label}: ${s.probability} vs ${want.probs[j]}`));
    }
    assert.match(await page.textContent('#latency'), /median \d+\.\d\d ms/);
    await page.close();
  }

  test('Tab and a click accept a suggestion; mid-word the suggestions complete the word', async () => {
    const page = await openDemo(browser.context, server.url, 'model.onnx');
    const first = await suggestionsFor(page, 'the value of ');
    await page.keyboard.press('Tab');
    assert.equal(await page.inputValue('#text'), `the value of ${first[0].word} `);
    const next = await page.waitForFunction((t) => document.querySelector('#suggestions').dataset.text === t,
      `the value of ${first[0].word} `).then(() => page.$$eval('.chip', (cs) => cs.map((c) => c.dataset.word)));
    await page.click('.chip:nth-child(2)');
    assert.equal(await page.inputValue('#text'), `the value of ${first[0].word} ${next[1]} `);
    const completions = await suggestionsFor(page, 'the val');
    assert.equal(await page.getAttribute('#suggestions', 'data-mode'), 'complete');
    // In display casing ('ValueError'): matching the typed letters ignores case.
    assert.ok(completions.length > 0 && completions.every((s) => s.word.toLowerCase().startsWith('val')), JSON.stringify(completions));
    await page.click('.chip');
    assert.equal(await page.inputValue('#text'), `the ${completions[0].word} `);
    await page.close();
  });

  test('the page learns the words typed, keeps them across a reload and forgets them on request', async () => {
    let page = await openDemo(browser.context, server.url, 'model.onnx', { learn: true });
    const words = async (text) => (await suggestionsFor(page, text)).map((s) => s.word);
    assert.ok(!(await words('we met at Zo')).includes('Zorblat'));
    await words('we met at Zorblat. Later Zorblat came back. ');
    assert.ok((await words('we met at Zo')).includes('Zorblat'), 'a new word typed twice is offered');
    await page.waitForFunction(() => localStorage.getItem('nextword-user'), null, { timeout: 10000 });
    await page.close();
    page = await openDemo(browser.context, server.url, 'model.onnx', { learn: true });
    assert.ok((await words('Zo')).includes('Zorblat'), 'kept across a reload');
    await page.click('#forget');
    assert.ok(!(await words('we met at Zo')).includes('Zorblat'), 'forgotten');
    assert.equal(await page.evaluate(() => localStorage.getItem('nextword-user')), null);
    await page.close();
  });

  test('a screenshot of the demo', async () => {
    const page = await openDemo(browser.context, server.url, 'model.onnx');
    await suggestionsFor(page, process.env.NEXTWORD_SCREENSHOT_TEXT ?? 'the value of the ', { type: true });
    const path = join(dir, 'web-demo.png');
    await page.screenshot({ path });
    assert.ok(readFileSync(path).length > 10000);
    if (process.env.NEXTWORD_SCREENSHOT) copyFileSync(path, process.env.NEXTWORD_SCREENSHOT);
    await page.close();
  });
});
