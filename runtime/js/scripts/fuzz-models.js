// Fuzz campaign of the JS runtime, mirroring tests/hardening/fuzz_models.py case for case: the same mutated files
// (its mutators, served by fuzz_cases.py with the same seed), loaded by nextword/node in worker processes that
// are killed and replaced when a file hangs or crashes them.
//
//   node runtime/js/scripts/fuzz-models.js --model out/model.onnx --model out/model.tflite --count 10000 --json fuzz.json
//
// Outcomes, as in Python: ran (loaded and predicted; a TFLite file in Node: passed the JS readers and graph checks,
// LiteRT.js running only in browsers), refused (a NextwordError), other (any other exception), crash (the worker
// died), hang (no answer within --timeout seconds), memory (peak RSS over --rss-factor x the originals'). Exit
// status 1 when any case is other, crash, hang or memory. Each file's verdict before the engine (the class it is
// refused with, or none) is compared with the Python loader's on the same bytes: "disagree" counts the files the
// two runtimes judge differently. Replay one case: --replay M:I (prints its outcome).
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const OUTCOMES = ['ran', 'refused', 'other', 'crash', 'hang', 'memory'];
const PROBLEMS = new Set(['other', 'crash', 'hang', 'memory']);
const CHUNK = 200; // cases per model written at a time: the scratch folder holds one chunk
const CASES_PER_WORKER = 400; // then a fresh worker, so no case inherits another's heap

function parseArgs(argv) {
  const args = { model: [], count: 10000, seed: 0, timeout: 10, workers: 2, json: null, rssFactor: 4, replay: null,
    python: join(root, '.venv', 'bin', 'python') };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    const take = () => { i += 1; return value; };
    if (name === '--model') args.model.push(take());
    else if (name === '--count') args.count = Number(take());
    else if (name === '--seed') args.seed = Number(take());
    else if (name === '--timeout') args.timeout = Number(take());
    else if (name === '--workers') args.workers = Number(take());
    else if (name === '--json') args.json = take();
    else if (name === '--rss-factor') args.rssFactor = Number(take());
    else if (name === '--replay') args.replay = take();
    else if (name === '--python') args.python = take();
    else throw new Error(`unknown argument ${name}; see the comment at the top of ${fileURLToPath(import.meta.url)}`);
  }
  if (!args.model.length) throw new Error('give at least one --model');
  return args;
}

/** fuzz_cases.py as a generator of chunks: next(start, end) -> the cases of [start, end) for every model. */
function caseServer(args, scratch) {
  const child = spawn(args.python, [join(here, 'fuzz_cases.py'), '--seed', String(args.seed), '--out', scratch,
    ...args.model.flatMap((m) => ['--model', m])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async header() { return JSON.parse((await lines.next()).value); },
    async chunk(start, end) {
      child.stdin.write(`${start} ${end}\n`);
      const cases = [];
      for (;;) {
        const { value, done } = await lines.next();
        if (done) throw new Error('fuzz_cases.py ended early');
        if (value === 'done') return cases;
        cases.push(JSON.parse(value));
      }
    },
    close() { child.stdin.end(); },
  };
}

/** A worker process: run(case) -> {outcome, message, rssKb, ms}; replaced after a hang, a crash or CASES_PER_WORKER. */
class Worker {
  constructor(timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.done = 0;
    this.child = null;
  }

  async start() {
    this.child = fork(join(here, 'lib', 'fuzz-worker.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise((ok, fail) => {
      this.child.once('message', ok);
      this.child.once('exit', () => fail(new Error('a fuzz worker could not start')));
    });
    this.done = 0;
  }

  async run(job) {
    if (!this.child || this.done >= CASES_PER_WORKER) await this.restart();
    this.done += 1;
    const child = this.child;
    const started = performance.now();
    return new Promise((resolveCase) => {
      const finish = (result) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolveCase(result);
      };
      const onMessage = (message) => finish(message);
      const onExit = (code, signal) => {
        this.child = null;
        finish({ outcome: 'crash', message: signal ?? `exit status ${code}`, rssKb: 0, ms: performance.now() - started });
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        child.kill('SIGKILL');
        this.child = null;
        finish({ outcome: 'hang', message: 'still running after the time limit', rssKb: 0, ms: performance.now() - started });
      }, this.timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(job);
    });
  }

  async restart() {
    this.stop();
    await this.start();
  }

  stop() {
    if (this.child) {
      this.child.removeAllListeners('exit');
      this.child.kill('SIGKILL');
    }
    this.child = null;
  }
}

class Tally {
  constructor(rssLimitKb) {
    Object.assign(this, { rssLimitKb, totals: {}, byMutator: {}, refusals: {}, problems: [], problemCount: 0, peakRssKb: {}, slowestMs: {},
      parity: {}, disagreements: [] });
  }

  add(c, result) {
    let { outcome, message } = result;
    const fmt = c.format;
    this.peakRssKb[fmt] = Math.max(this.peakRssKb[fmt] ?? 0, result.rssKb);
    this.slowestMs[fmt] = Math.max(this.slowestMs[fmt] ?? 0, result.ms);
    if (this.rssLimitKb && result.rssKb > this.rssLimitKb && outcome !== 'crash' && outcome !== 'hang') {
      [outcome, message] = ['memory', `peak RSS ${result.rssKb >> 10} MB, over ${this.rssLimitKb >> 10} MB (${message})`];
    }
    const count = (table, key) => { table[key] = (table[key] ?? 0) + 1; };
    if (result.verdict !== undefined && outcome !== 'crash' && outcome !== 'hang') {
      const same = (c.python ?? null) === (result.verdict ?? null);
      count((this.parity[fmt] ??= {}), same ? 'agree' : 'disagree');
      if (!same && this.disagreements.length < 200) {
        this.disagreements.push({ case: c.id, format: fmt, mutator: c.mutator, detail: c.detail, python: c.python, js: result.verdict });
      }
    }
    count((this.totals[fmt] ??= {}), outcome);
    count(((this.byMutator[fmt] ??= {})[c.mutator] ??= {}), outcome);
    if (outcome === 'refused') count((this.refusals[fmt] ??= {}), message.split(':')[0]);
    if (PROBLEMS.has(outcome)) {
      this.problemCount += 1;
      if (this.problems.length < 200) this.problems.push({ case: c.id, format: fmt, mutator: c.mutator, detail: c.detail, outcome, message });
    }
  }
}

async function runCases(workers, cases, tally) {
  let next = 0;
  await Promise.all(workers.map(async (worker) => {
    while (next < cases.length) {
      const c = cases[next++];
      const result = await worker.run({ id: c.id, file: c.file, viaFile: c.via_file });
      tally.add(c, result);
      try { unlinkSync(c.file); } catch { /* already gone */ }
    }
  }));
}

function printSummary(tally, seconds) {
  const pad = (s, n) => String(s).padStart(n);
  console.log(`${'format'.padEnd(8)} ${OUTCOMES.map((o) => pad(o, 8)).join(' ')} ${pad('total', 8)}`);
  for (const [fmt, counts] of Object.entries(tally.totals).sort()) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`${fmt.padEnd(8)} ${OUTCOMES.map((o) => pad(counts[o] ?? 0, 8)).join(' ')} ${pad(total, 8)}`);
  }
  for (const [fmt, counts] of Object.entries(tally.refusals).sort()) {
    console.log(`\n${fmt} refusals: ${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ')}`);
  }
  for (const [fmt, counts] of Object.entries(tally.parity).sort()) {
    console.log(`\n${fmt} verdicts before the engine, JS vs Python on the same file: ${counts.agree ?? 0} agree, ${counts.disagree ?? 0} disagree`);
  }
  for (const d of tally.disagreements.slice(0, 20)) console.log(`  DISAGREE case ${d.case} (${d.format}, ${d.mutator}: ${d.detail}): Python ${d.python}, JS ${d.js}`);
  for (const p of tally.problems.slice(0, 30)) console.log(`\n${p.outcome.toUpperCase()} case ${p.case} (${p.format}, ${p.mutator}: ${p.detail})\n  ${p.message}`);
  for (const fmt of Object.keys(tally.totals).sort()) {
    console.log(`${fmt}: peak worker RSS ${tally.peakRssKb[fmt] >> 10} MB (limit ${tally.rssLimitKb >> 10} MB), slowest file ${(tally.slowestMs[fmt] / 1000).toFixed(2)} s`);
  }
  const files = Object.values(tally.totals).flatMap(Object.values).reduce((a, b) => a + b, 0);
  console.log(`\n${files} files in ${seconds.toFixed(0)} s; ${tally.problemCount} crash/hang/other/memory`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const scratch = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'nextword-jsfuzz-'));
  const server = caseServer(args, scratch);
  const workers = Array.from({ length: args.workers }, () => new Worker(args.timeout * 1000));
  const cleanup = () => { workers.forEach((w) => w.stop()); server.close(); rmSync(scratch, { recursive: true, force: true }); };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  process.on('SIGTERM', () => { cleanup(); process.exit(143); });
  try {
    const { models } = await server.header();
    if (args.replay) {
      const [model, number] = args.replay.split(':').map(Number);
      const c = (await server.chunk(number, number + 1))[model];
      console.log(`case ${c.id}: ${c.format} ${c.mutator}: ${c.detail}`, await workers[0].run({ id: c.id, file: c.file, viaFile: c.via_file }));
      return 0;
    }
    // The originals must run, or nothing below means anything; their peak RSS is the runtime's normal peak.
    let normalKb = 0;
    for (const [i, model] of args.model.entries()) {
      const result = await workers[0].run({ id: `original-${i}`, file: resolve(model), viaFile: false });
      if (result.outcome !== 'ran') throw new Error(`original ${models[i].name} does not run: ${result.outcome} ${result.message}`);
      normalKb = Math.max(normalKb, result.rssKb);
    }
    const tally = new Tally(Math.round(normalKb * args.rssFactor));
    const started = performance.now();
    for (let start = 0; start < args.count; start += CHUNK) {
      await runCases(workers, await server.chunk(start, Math.min(start + CHUNK, args.count)), tally);
      if ((start + CHUNK) % 1000 === 0) console.error(`  ${(start + CHUNK) * models.length} files, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    const seconds = (performance.now() - started) / 1000;
    printSummary(tally, seconds);
    if (args.json) {
      writeFileSync(args.json, JSON.stringify({ models: args.model, count_per_model: args.count, seed: args.seed, timeout_s: args.timeout,
        workers: args.workers, elapsed_s: Math.round(seconds), rss_limit_mb: tally.rssLimitKb >> 10, totals: tally.totals,
        by_mutator: tally.byMutator, refusals: tally.refusals, problem_count: tally.problemCount,
        peak_rss_mb: Object.fromEntries(Object.entries(tally.peakRssKb).map(([f, kb]) => [f, kb >> 10])),
        slowest_file_s: Object.fromEntries(Object.entries(tally.slowestMs).map(([f, ms]) => [f, +(ms / 1000).toFixed(2)])),
        problems: tally.problems, parity: tally.parity, disagreements: tally.disagreements }, null, 2));
    }
    return tally.problemCount ? 1 : 0;
  } finally {
    cleanup();
  }
}

process.exitCode = await main();
