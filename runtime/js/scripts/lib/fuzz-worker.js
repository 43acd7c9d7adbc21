// One worker of fuzz-models.js (a child process it forks and restarts): loads each file it is sent as an app
// would, asks for words, and reports the outcome, its time and its peak RSS. Python's twin is fuzz_models.py's
// forked child (exercise, child_main).
import { readFileSync, writeFileSync } from 'node:fs';
import { NextwordError, Predictor } from '../../src/node.js';

const PROMPT = 'to be or not to';
// LiteRT.js needs a browser; in Node a .tflite file goes through the JS readers and graph checks only, and
// "ran" means they passed it on. ONNX files run on onnxruntime-node.
class PassedChecks extends Error {}
const TFLITE_IN_NODE = { tflite: async () => { throw new PassedChecks(); } };
const NO_ENGINE = { onnx: async () => { throw new PassedChecks(); }, ...TFLITE_IN_NODE };

/** The JS loader's verdict before any engine: the class it refuses the file with, or null (as fuzz_cases.py's
 *  `python`, so the two runtimes' refusals are compared file by file). */
async function verdict(bytes, id) {
  try {
    await Predictor.load(bytes, { engines: NO_ENGINE, source: `case-${id}` });
  } catch (error) {
    if (error instanceof PassedChecks) return null;
    return error instanceof NextwordError ? error.name : `other:${error?.name}`;
  }
  return 'other:loaded without an engine';
}

async function exercise({ file, viaFile, id }) {
  const options = { engines: TFLITE_IN_NODE, source: `case-${id}` };
  const predictor = await Predictor.load(viaFile ? file : readFileSync(file), options).catch((error) => {
    if (error instanceof PassedChecks) return null;
    throw error;
  });
  if (predictor === null) return;
  try {
    for (const k of [5, 50]) {
      const prediction = await predictor.predictNext(PROMPT, k);
      if (!Array.isArray(prediction) || prediction.length > k) throw new Error(`predictNext returned ${prediction?.length} items`);
    }
    await predictor.predictNextBatch([PROMPT, '', 'the'], 5);
  } finally {
    await predictor.release();
  }
}

// The kernel's peak RSS of this process, reset before each case (clear_refs 5), so each case reports its own.
function resetPeak() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch { /* not Linux: the peak is the process's */ }
}
function peakKb() {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    return Math.round(process.memoryUsage().rss / 1024);
  }
}

process.on('message', async (job) => {
  resetPeak();
  const started = performance.now();
  let outcome = 'ran';
  let message = '';
  let jsVerdict = null;
  try {
    jsVerdict = await verdict(readFileSync(job.file), job.id);
    await exercise(job);
  } catch (error) {
    outcome = error instanceof NextwordError ? 'refused' : 'other';
    const where = error instanceof NextwordError ? '' : ` at ${(error?.stack ?? '').split('\n')[1]?.trim() ?? '?'}`;
    message = `${error?.name ?? typeof error}${where}: ${String(error?.message ?? error).split('\n')[0].slice(0, 300)}`;
  }
  process.send({ id: job.id, outcome, message, verdict: jsVerdict, rssKb: peakKb(), ms: performance.now() - started });
});
process.send({ ready: true });
