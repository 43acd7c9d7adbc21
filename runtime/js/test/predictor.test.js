// Predictor behaviour that needs no real engine: refusals by kind, argument checks, output checks and
// generation rules, on files built by helpers/build.js and a fake engine whose outputs the test controls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorruptModelError, InputError, MissingMetadataError, Predictor, UnsupportedVersionError,
  VocabularyMismatchError } from '../src/index.js';
import { buildOnnx, buildTflite } from './helpers/build.js';

const WORDS = ['<unk>', 'the', 'value', 'of', 'a'];
const VOCAB = WORDS.length + 1;

function tokenizerJson(words = WORDS) {
  const table = (f) => JSON.stringify(Object.fromEntries(words.map(f)));
  return JSON.stringify({ class_name: 'Tokenizer', config: { num_words: null, filters: '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower: true,
    split: ' ', char_level: false, oov_token: '<unk>', document_count: 1, word_counts: table((w) => [w, 1]), word_docs: table((w) => [w, 1]),
    index_docs: table((w, i) => [i + 1, 1]), index_word: table((w, i) => [i + 1, w]), word_index: table((w, i) => [w, i + 1]) } });
}
// Every field a bundled config must state (format version 2 adds kind, given where it is used).
const config = (extra = {}) => JSON.stringify({ seq_len: 3, embedding_dim: 8, units: 8, hidden: 8, layers: 1, validation_split: 0.1,
  vocab_size: VOCAB, num_words: null, oov_token: '<unk>', version: 1, ...extra });
const entries = (overrides = {}) => Object.entries({ 'nextword.format_version': '1', 'nextword.tokenizer': tokenizerJson(), 'nextword.config': config(), ...overrides })
  .filter(([, v]) => v !== undefined);

// A window-model engine: probs favour (last context id + 1), and <unk> (id 1) is always second best.
function fakeEngine({ probs = defaultProbs, rows = (n) => n } = {}) {
  const ports = (name, dtype, width) => ({ name, dtype, shape: ['batch', width] });
  return {
    name: 'onnx',
    inputs: [ports('tokens', 'int32', 2)],
    outputs: [ports('probs', 'float32', VOCAB), ports('top_probs', 'float32', 3), ports('top_ids', 'int32', 3)],
    async run(input, names) {
      const n = input.dims[0];
      const all = new Float32Array(rows(n) * VOCAB);
      for (let r = 0; r < rows(n); r++) all.set(probs(input.data[Math.min(r, n - 1) * 2 + 1]), r * VOCAB);
      const out = { probs: { data: all, dims: [rows(n), VOCAB] } };
      const topIds = new Int32Array(rows(n) * 3);
      const topProbs = new Float32Array(rows(n) * 3);
      for (let r = 0; r < rows(n); r++) {
        const row = all.subarray(r * VOCAB, (r + 1) * VOCAB);
        const ids = [...row.keys()].slice(1).sort((a, b) => row[b] - row[a] || a - b).slice(0, 3);
        ids.forEach((id, i) => { topIds[r * 3 + i] = id; topProbs[r * 3 + i] = row[id]; });
      }
      out.top_ids = { data: topIds, dims: [rows(n), 3] };
      out.top_probs = { data: topProbs, dims: [rows(n), 3] };
      return Object.fromEntries(names.map((name) => [name, out[name]]));
    },
  };
}
function defaultProbs(lastId) {
  const p = new Float32Array(VOCAB).fill(0.05);
  p[0] = 0;
  p[1] = 0.35; // a distribution: it sums to 1, as the output checks demand
  p[(lastId % (VOCAB - 2)) + 2] = 0.5;
  return p;
}
// These hand-built files hold no real graph, which Predictor.load refuses before any engine (checks.test.js): the
// fake engine is opened on what the file's metadata says, as load does after its graph checks.
async function load(bytes, engine = fakeEngine(), options = {}) {
  const { format, bundle, source } = Predictor.inspect(bytes, options);
  return Predictor.open(format === 'tflite' ? { ...engine, name: 'tflite' } : engine, bundle, source);
}

test('loads from ONNX and TFLite bytes, format versions 1 and 2, and predicts', async () => {
  const v2 = entries({ 'nextword.format_version': '2', 'nextword.config': config({ kind: 'window' }) });
  for (const bytes of [buildOnnx(entries()), buildTflite(entries()), buildOnnx(v2)]) {
    const p = await load(bytes);
    const prediction = await p.predictNext('the value', 2);
    assert.deepEqual(prediction.map((x) => x.word), ['a', '<unk>']); // last id 3 -> (3 % 4) + 2 = 5
    assert.deepEqual(prediction.unknownWords, []);
    assert.deepEqual((await p.predictNext('the zzyzx', 1)).unknownWords, ['zzyzx']);
    assert.equal(p.vocabulary.get(2), 'the');
    assert.equal(p.metadata.kind, 'window');
  }
});

test('refusals carry their kind', async () => {
  await assert.rejects(load(buildOnnx(entries({ 'nextword.config': undefined }))), MissingMetadataError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '3' }))), (e) => e instanceof UnsupportedVersionError && /version 3, newer than this runtime's version 2/.test(e.message));
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '0' }))), (e) => e instanceof UnsupportedVersionError && /older than/.test(e.message));
  const sequence = config({ kind: 'sequence', layers: 2 });
  // A sequence config over a window graph: the file is not what its metadata says.
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '2', 'nextword.config': sequence }))), (e) => e instanceof CorruptModelError && /sequence model takes/.test(e.message));
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '1', 'nextword.config': sequence }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.config': config({ kind: 'tree' }) }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '1.0' }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.format_version': '²' }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.tokenizer': '{"class_name": "Tokenizer"' }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.config': config({ version: 2 }) }))), UnsupportedVersionError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.config': config({ bogus: 1 }) }))), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries({ 'nextword.config': config({ vocab_size: 9 }) }))), VocabularyMismatchError);
  await assert.rejects(load(new Uint8Array(100)), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries()), fakeEngine(), { backend: 'tflite' }), CorruptModelError);
  // A file without a graph is refused by the checks, with or without an engine (hostile.test.js: a real file
  // without an engine is an InputError).
  await assert.rejects(Predictor.load(buildOnnx(entries())), CorruptModelError);
  await assert.rejects(Predictor.load(buildOnnx(entries()), { engines: { onnx: async () => fakeEngine() } }), CorruptModelError);
  const narrow = { ...fakeEngine(), inputs: [{ name: 'tokens', dtype: 'int32', shape: ['batch', 3] }] };
  await assert.rejects(load(buildOnnx(entries()), narrow), CorruptModelError);
});

test('engine outputs are checked: rows, finite values, ids in range', async () => {
  // Refused at the warm-up, and by a graph that turns bad only after it (the engine's calls counted).
  await assert.rejects(load(buildOnnx(entries()), fakeEngine({ probs: () => new Float32Array(VOCAB).fill(NaN) })), CorruptModelError);
  await assert.rejects(load(buildOnnx(entries()), fakeEngine({ rows: (n) => n + 1 })), CorruptModelError);
  // Each engine does as told for its first two calls (the warm-up's), then goes bad.
  const after = (bad) => {
    const engine = fakeEngine();
    const goodRun = engine.run;
    let calls = 0;
    engine.run = async (input, names) => (calls++ < 2 ? goodRun(input, names) : bad.run(input, names));
    return engine;
  };
  const nan = await load(buildOnnx(entries()), after(fakeEngine({ probs: () => new Float32Array(VOCAB).fill(NaN) })));
  await assert.rejects(nan.predictNext('the', 2), CorruptModelError);
  const extraRow = await load(buildOnnx(entries()), after(fakeEngine({ rows: (n) => n + 1 })));
  await assert.rejects(extraRow.predictNext('the', 2), CorruptModelError);
  await assert.rejects(extraRow.generate('the', 1), CorruptModelError);
  const pastTheEnd = fakeEngine();
  const run = pastTheEnd.run;
  pastTheEnd.run = async (input, names) => {
    const out = await run(input, names);
    if (out.top_ids) out.top_ids.data[0] = VOCAB; // one past the last id
    return out;
  };
  await assert.rejects((await load(buildOnnx(entries()), after(pastTheEnd))).predictNext('the', 2), CorruptModelError);
});

test('arguments are checked as in Python', async () => {
  const p = await load(buildOnnx(entries()));
  await assert.rejects(p.predictNext(3), TypeError);
  await assert.rejects(p.predictNext('the', 0), InputError);
  await assert.rejects(p.predictNext('the', 1.5), TypeError);
  await assert.rejects(p.predictNextBatch('the'), TypeError);
  await assert.rejects(p.generate('the', -1), InputError);
  await assert.rejects(p.generate('the', 2, { strategy: 'beam' }), InputError);
  await assert.rejects(p.generate('the', 2, { temperature: 0 }), InputError);
  assert.equal((await p.predictNext('the', 100)).length, VOCAB - 1); // k past the vocabulary: all of it
  assert.deepEqual(await p.predictNextBatch([]), []);
});

test('generation slides the window and never writes the OOV token', async () => {
  const p = await load(buildOnnx(entries()));
  const greedy = await p.generate('the', 6);
  assert.equal(greedy.split(' ').length, 6);
  assert.ok(!greedy.includes('<unk>'));
  for (let seed = 0; seed < 20; seed++) {
    const sampled = await p.generate('the', 30, { strategy: 'sample', temperature: 3, seed });
    assert.ok(!sampled.split(' ').includes('<unk>'));
    assert.equal(await p.generate('the', 30, { strategy: 'sample', temperature: 3, seed }), sampled);
  }
  assert.equal(await p.generate('the', 0), '');
});
