// Output checks on every engine call, not only the warm-up (Python: tests/runtime/test_output_checks.py): a
// graph may return a true distribution at load and then negate, halve, double or reorder it. Each fake engine
// here behaves for its warm-up call(s), then goes bad in one way; every way is a CorruptModelError.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorruptModelError, Predictor } from '../src/index.js';
import { buildOnnx } from './helpers/build.js';

const WORDS = ['<unk>', 'the', 'value', 'of', 'a'];
const VOCAB = WORDS.length + 1;
const K = 3;

function tokenizerJson() {
  const table = (f) => JSON.stringify(Object.fromEntries(WORDS.map(f)));
  return JSON.stringify({ class_name: 'Tokenizer', config: { num_words: null, filters: '', lower: true, split: ' ', char_level: false,
    oov_token: '<unk>', document_count: 1, word_counts: table((w) => [w, 1]), word_docs: table((w) => [w, 1]),
    index_docs: table((w, i) => [i + 1, 1]), index_word: table((w, i) => [i + 1, w]), word_index: table((w, i) => [w, i + 1]) } });
}
const CONFIGS = {
  window: { kind: 'window', seq_len: 3, embedding_dim: 8, units: 8, hidden: 8, layers: 1, vocab_size: VOCAB, num_words: null,
    oov_token: '<unk>', validation_split: 0.1, version: 1 },
  sequence: { kind: 'sequence', seq_len: 3, embedding_dim: 4, units: 4, hidden: 8, layers: 1, vocab_size: VOCAB, num_words: null,
    oov_token: '<unk>', validation_split: 0.1, version: 1 },
};
const GOOD = Float32Array.from([0, 0.1, 0.4, 0.2, 0.2, 0.1]); // sums to 1; top 3: ids 2, 3, 4

// The ways a distribution or its top-k can go bad after the warm-up: [name, probs transform, top transform].
const BAD = [
  ['a negative probability', (p) => p.map((v, i) => (i === 5 ? -0.05 : i === 2 ? v + 0.15 : v)), null],
  ['a sum of 0.5', (p) => p.map((v) => v / 2), null],
  ['a sum of 1.99', (p) => p.map((v) => v * 1.99), null],
  ['an ascending top-k', null, ({ ids, probs }) => ({ ids: [...ids].reverse(), probs: [...probs].reverse() })],
  ['duplicate top ids', null, ({ ids, probs }) => ({ ids: [ids[0], ids[0], ids[2]], probs: [probs[0], probs[0], probs[2]] })],
  ['top_probs that disagree with probs', null, ({ ids, probs }) => ({ ids, probs: probs.map((v) => v * 0.9) })],
];

function top(row) {
  const ids = [...row.keys()].slice(1).sort((a, b) => row[b] - row[a] || a - b).slice(0, K);
  return { ids, probs: ids.map((id) => row[id]) };
}

// An engine of either kind: every row's distribution is GOOD; from call `goodCalls` on, the transforms apply.
function fakeEngine(kind, { probs: badProbs = null, top: badTop = null, goodCalls = 1 } = {}) {
  const S = 2 * CONFIGS.sequence.layers * CONFIGS.sequence.units;
  const port = (name, dtype, width) => ({ name, dtype, shape: ['batch', width] });
  const inputs = kind === 'window' ? [port('tokens', 'int32', 2)] : [port('tokens', 'int32', -1), port('state', 'float32', S)];
  const outputs = [port('probs', 'float32', VOCAB), port('top_probs', 'float32', K), port('top_ids', 'int32', K)];
  if (kind === 'sequence') outputs.push(port('state_out', 'float32', S));
  let calls = 0;
  return {
    name: 'onnx', inputs, outputs, calls: () => calls,
    async run(feeds, names) {
      const bad = calls++ >= goodCalls;
      const rows = (Array.isArray(feeds) ? feeds[0] : feeds).dims[0];
      const row = bad && badProbs ? Float32Array.from(badProbs(GOOD)) : GOOD;
      // The top-k of the bad distribution, so each case breaks one rule only.
      const ranked = bad && badTop ? badTop(top(GOOD)) : top(row);
      const tile = (values, Type) => { const out = new Type(rows * values.length); for (let r = 0; r < rows; r++) out.set(values, r * values.length); return out; };
      const out = {
        probs: { data: tile(row, Float32Array), dims: [rows, VOCAB] },
        top_probs: { data: tile(ranked.probs, Float32Array), dims: [rows, K] },
        top_ids: { data: tile(ranked.ids, Int32Array), dims: [rows, K] },
        state_out: { data: new Float32Array(rows * S), dims: [rows, S] },
      };
      return Object.fromEntries(names.map((name) => [name, out[name]]));
    },
  };
}

async function open(kind, engine) {
  const file = buildOnnx([['nextword.format_version', '2'], ['nextword.tokenizer', tokenizerJson()], ['nextword.config', JSON.stringify(CONFIGS[kind])]]);
  const { bundle, source } = Predictor.inspect(file);
  return Predictor.open(engine, bundle, source);
}

for (const kind of ['window', 'sequence']) {
  test(`${kind}: a good graph loads and answers`, async () => {
    const p = await open(kind, fakeEngine(kind));
    assert.deepEqual((await p.predictNext('the', 3)).map((x) => x.word), ['the', 'value', 'of']);
  });

  for (const [name, badProbs, badTop] of BAD) {
    // A window graph's top-k and distribution come from separate calls, so they can only disagree unseen (as in
    // Python, which compares them only when one step returns both: the sequence kind's full steps).
    if (kind === 'window' && name.includes('disagree')) continue;
    test(`${kind}: ${name} is refused at the warm-up and on any later call`, async () => {
      await assert.rejects(open(kind, fakeEngine(kind, { probs: badProbs, top: badTop, goodCalls: 0 })), CorruptModelError);
      // Good through the warm-up (window: probs, then top-k; sequence: one step), bad from then on. A bad
      // distribution fails every call that reads it (k past the graph's top-k, generation); a bad top-k the
      // calls served by the graph's own.
      const p = await open(kind, fakeEngine(kind, { probs: badProbs, top: badTop, goodCalls: kind === 'window' ? 2 : 1 }));
      // A disagreement shows where one step fetches both (k past the top-k, generation).
      const readsBoth = badProbs || name.includes('disagree');
      const calls = readsBoth ? [() => p.predictNext('the value', 5), () => p.generate('the value', 2)] : [() => p.predictNext('the value', 3)];
      for (const call of calls) await assert.rejects(call(), CorruptModelError);
    });
  }
}

test('sequence: a session refuses a step whose outputs went bad after the warm-up', async () => {
  for (const [name, badProbs, badTop] of BAD) {
    const p = await open('sequence', fakeEngine('sequence', { probs: badProbs, top: badTop, goodCalls: 1 }));
    const session = await p.session();
    await assert.rejects(async () => {
      await session.feed('the value');
      await session.predict(3);
      await session.predict(5);
    }, CorruptModelError, name);
  }
});
