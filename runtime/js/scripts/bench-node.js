// Latency of predictNext in Node on onnxruntime-node: load time and p50/p99 per call over real texts.
//   node scripts/bench-node.js MODEL.onnx [EXPECTED.json] [CALLS]
// EXPECTED.json (from test/make_fixtures.sh) supplies the texts; without it a few fixed texts are cycled.
import { readFileSync } from 'node:fs';
import { Predictor } from '../src/node.js';

const [model, expectedPath, callsArg] = process.argv.slice(2);
const calls = Number(callsArg ?? 10000);
const texts = expectedPath ? JSON.parse(readFileSync(expectedPath, 'utf8')).texts : ['the value of', 'a list of', 'to be or not'];

let start = performance.now();
const predictor = await Predictor.load(model);
await predictor.predictNext(texts[0], 5);
const loadMs = performance.now() - start;

for (let i = 0; i < 1000; i++) await predictor.predictNext(texts[i % texts.length], 5); // warm up
const times = [];
for (let i = 0; i < calls; i++) {
  start = performance.now();
  await predictor.predictNext(texts[i % texts.length], 5);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const us = (q) => (times[Math.floor(q * (times.length - 1))] * 1000).toFixed(1);
console.log(JSON.stringify({ model, calls, load_and_first_prediction_ms: +loadMs.toFixed(1), p50_us: +us(0.5), p99_us: +us(0.99) }));
