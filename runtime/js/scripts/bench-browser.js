// The demo page's figures in headless Chromium: load time, p50/p99 per next word (predictNext, k=5, timed
// inside the page) and every byte the page downloads, per file and gzip-compressed (as a server that
// gzips would send it), for each model file the page runs.
//   node scripts/bench-browser.js EXPORT_DIR [TEXTS.json] [CALLS]
// TEXTS.json: {"texts": [...]} (scripts/bench_python.py writes one). Prints one JSON object per model.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { launchChromium, openDemo, startServer } from './lib/browser.js';

const [exportDir, textsPath, callsArg] = process.argv.slice(2);
if (!exportDir) throw new Error('usage: node scripts/bench-browser.js EXPORT_DIR [TEXTS.json] [CALLS]');
const calls = Number(callsArg ?? 10000);
const texts = textsPath ? JSON.parse(readFileSync(textsPath, 'utf8')).texts : ['the value of', 'a list of', 'to be or not'];
const server = await startServer(exportDir);
try {
  for (const model of ['model.onnx', 'model.batch1.tflite']) {
    const browser = await launchChromium(); // a fresh profile: nothing cached from the previous model
    try {
      const downloads = [];
      browser.context.on('response', async (response) => {
        const body = await response.body().catch(() => null);
        if (body) downloads.push({ file: new URL(response.url()).pathname, bytes: body.length, gzip: gzipSync(body).length });
      });
      const page = await openDemo(browser.context, server.url, model);
      const timing = await page.evaluate(async ({ texts, calls }) => {
        const { predictor } = window.nextwordDemo;
        for (let i = 0; i < 1000; i++) await predictor.predictNext(texts[i % texts.length], 5); // warm up
        const times = [];
        for (let i = 0; i < calls; i++) {
          const start = performance.now();
          await predictor.predictNext(texts[i % texts.length], 5);
          times.push(performance.now() - start);
        }
        times.sort((a, b) => a - b);
        const us = (q) => Math.round(times[Math.floor(q * (times.length - 1))] * 10000) / 10;
        return { p50_us: us(0.5), p99_us: us(0.99), isolated: crossOriginIsolated, loadMs: Number(document.body.dataset.loadMs),
          readyMs: Math.round(performance.now()) };
      }, { texts, calls });
      downloads.sort((a, b) => b.bytes - a.bytes);
      const total = downloads.reduce((t, d) => ({ bytes: t.bytes + d.bytes, gzip: t.gzip + d.gzip }), { bytes: 0, gzip: 0 });
      console.log(JSON.stringify({ model, calls, ...timing, downloads, total }));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.stop();
}
