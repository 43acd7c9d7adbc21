// The user model behaves as Python's (test/make_user_expectations.py wrote what Python did): the same learning
// scripts give the same sizes and byte for byte the same files; every user file (hand-made hostile ones and
// 1,800 mutants) is read or refused as Python reads it, and what is read saves to Python's bytes; suggest with a
// user model gives Python's words (probabilities within 1e-5) on both kinds and in typing sessions where each
// word is learned once committed. On onnxruntime-node, with NEXTWORD_JS_FIXTURES; skipped without it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptUserModelError, InputError, NextwordError, Predictor, UserModel } from '../src/node.js';

const dir = process.env.NEXTWORD_JS_FIXTURES;
const path = dir && join(dir, 'user-expected.json');
const skip = path && existsSync(path) ? false : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';
const expected = skip ? null : JSON.parse(readFileSync(path, 'utf8'));
const MODELS = { window: dir && join(dir, 'export', 'model.onnx'), sequence: dir && join(dir, 'sequence', 'export', 'model.onnx') };
const TOLERANCE = 1e-5;
const bytesOf = (b64) => new Uint8Array(Buffer.from(b64, 'base64'));

function same(got, want, label) {
  assert.deepEqual(got.map(({ word }) => word), want.words, label);
  got.forEach(({ probability }, i) => {
    assert.ok(Math.abs(probability - want.probs[i]) <= TOLERANCE, `${label}: probability ${i} ${probability} vs ${want.probs[i]}`);
  });
}

for (const name of ['default', 'capped']) {
  test(`learning (${name}): the sizes and saved bytes equal Python's`, { skip }, async () => {
    const ops = expected.learning[name];
    const user = new UserModel({ maxEntries: name === 'capped' ? 40 : 100_000 });
    let saves = 0;
    for (const [i, op] of ops.entries()) {
      const label = `op ${i} ${op.op} ${JSON.stringify(op.text ?? op.word ?? '').slice(0, 50)}`;
      if (op.op === 'save') {
        assert.deepEqual(await user.toBytes(), bytesOf(op.bytes), label);
        saves += 1;
        continue;
      }
      if (op.op === 'learn' && op.error) assert.throws(() => user.learn(op.text), InputError, label);
      else if (op.op === 'learn') user.learn(op.text);
      else if (op.op === 'forget') assert.equal(user.forget(op.word), op.known, label);
      else user.clear();
      assert.equal(user.size, op.size, label);
    }
    assert.ok(saves >= 8 && ops.length > 200);
  });
}

test('user files: each is read or refused as Python reads it, and what is read saves to the same bytes', { skip }, async () => {
  let read = 0;
  for (const [i, file] of expected.files.entries()) {
    const label = `file #${i}`;
    const options = file.max_entries ? { maxEntries: file.max_entries } : {};
    let user;
    try {
      user = await UserModel.fromBytes(bytesOf(file.b64), options);
    } catch (error) {
      assert.ok(error instanceof NextwordError, `${label}: untyped ${error}`);
      assert.equal(error.constructor.name, file.error ?? 'read', `${label}: ${error.message}`);
      assert.ok(!error.message.includes('\n'), label);
      continue;
    }
    assert.equal(file.error, undefined, `${label}: read, Python refused it with ${file.error}`);
    assert.equal(user.size, file.size, label);
    assert.deepEqual(await user.toBytes(), bytesOf(file.resaved), label);
    read += 1;
  }
  const refused = expected.files.length - read;
  assert.ok(read >= 50 && refused >= 1000, `${read} read, ${refused} refused`);
});

for (const kind of Object.keys(MODELS)) {
  test(`${kind}: predictor.suggest with a learning user model equals Python`, { skip }, async () => {
    const predictor = await Predictor.load(MODELS[kind]);
    const user = new UserModel();
    let calls = 0;
    for (const [i, op] of expected.suggest[kind].entries()) {
      if (op.op === 'learn') {
        user.learn(op.text);
        continue;
      }
      const got = await predictor.suggest(op.text, op.k, { user });
      same(got, op, `#${i} ${JSON.stringify(op.text).slice(0, 60)} k=${op.k}`);
      assert.deepEqual(got.unknownWords, op.unknown);
      calls += 1;
    }
    assert.ok(calls >= 600);
    await predictor.release();
  });
}

test('sequence: typing sessions with a user model that learns each committed word equal Python', { skip }, async () => {
  const predictor = await Predictor.load(MODELS.sequence);
  const user = new UserModel();
  let calls = 0;
  for (const [i, ops] of expected.sessions.entries()) {
    const session = await predictor.session({ user });
    for (const [j, op] of ops.entries()) {
      const label = `session #${i} op ${j} ${JSON.stringify(op.partial ?? op.text)}`;
      if (op.op === 'type') {
        await session.feed(op.text);
        user.learn(op.text);
      } else if (op.op === 'generate') {
        assert.equal(await session.generate(op.n), op.text, label);
      } else if (op.error) {
        await assert.rejects(session.suggest(op.partial, op.k), InputError, label);
      } else {
        same(await session.suggest(op.partial, op.k), op, label);
        calls += 1;
      }
    }
  }
  assert.ok(calls >= 500, `${calls} calls`);
  await predictor.release();
});

test('save is atomic and load refuses what is not a user file (Node)', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'nextword-user-'));
  const file = join(folder, 'me.nwuser');
  const user = new UserModel();
  user.learn('Meet me at Kensington. Ann met me at noon');
  await user.save(file);
  const again = await UserModel.load(file);
  assert.deepEqual(again.words, user.words);
  assert.equal(again.form('kensington'), 'Kensington');
  await assert.rejects(user.save(join(folder, 'missing', 'me.nwuser')), InputError);
  assert.deepEqual(readdirSync(folder), ['me.nwuser']); // no temporary file is left behind
  writeFileSync(file, 'nextword-user 1\nsha256:00\n{}');
  await assert.rejects(UserModel.load(file), CorruptUserModelError);
  await assert.rejects(UserModel.load(join(folder, 'nothing')), InputError);
  await assert.rejects(UserModel.load(folder), /is not a file/);
  assert.throws(() => user.learn(7), TypeError);
  assert.throws(() => new UserModel({ maxEntries: 0 }), InputError);
});

test('a loaded model reads its pairs when used and saves as if read whole (as Python)', async () => {
  for (const then of ['learn', 'read', 'forget', 'evict']) {
    const use = (user) => {
      const read = then === 'read' ? [...user.scorer('the').successors.keys()] : null;
      user.learn('the cat ran on. the owl sat on a mat');
      if (then === 'forget') assert.ok(user.forget('owl'));
      if (then === 'evict') {
        user.maxEntries = user.size - 1;
        user.learn(''); // learning checks the bound
      }
      return [read, user.size, [...user.words]];
    };
    const fresh = new UserModel();
    fresh.learn('the cat sat. the dog sat on the mat. a cat ran.'); // ended: the file keeps no last word
    const loaded = await UserModel.fromBytes(await fresh.toBytes());
    assert.deepEqual(use(loaded), use(fresh), then);
    assert.deepEqual(await loaded.toBytes(), await fresh.toBytes(), then);
  }
});

test('a full user model (100,000 entries, every one a word) saves and reads back', async () => {
  const user = new UserModel();
  user.learn(Array.from({ length: 100_000 }, (_, i) => `w${i}`).join('. ') + '.');
  assert.equal(user.size, 100_000);
  const again = await UserModel.fromBytes(await user.toBytes());
  assert.equal(again.size, 100_000);
  assert.equal(again.words.get('w99999'), 1);
});

test('what a completion keeps per typed prefix follows every learned word (as Python)', () => {
  // The counts' sum, the most learned words and the context's fitting successors are kept per prefix between
  // bars: after every learned word they must be what reading the live tables afresh gives.
  let seed = 2;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const choices = ['ta', 'tb', 'tc', 'tab', 'tba', 'tz', 'ua', 'tÿ', 't😀', 't😀a'];
  const user = new UserModel();
  const prefixes = ['t', 'ta', 'tb', 'u', 'x', 't\ud83d', 't😀'];
  for (let step = 0; step < 600; step++) {
    user.learn(`the ${choices[Math.floor(next() * choices.length)]} ${step % 7 ? '' : `t${step % 5}`}`);
    const scorer = user.scorer('the');
    const words = [...user.words].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const prefix of prefixes) {
      // Python's startswith over code points: a prefix ending in half a pair fits no learned word.
      const fits = (word) => word.startsWith(prefix) && !/[\ud800-\udbff]$/.test(prefix);
      const total = words.filter(([word]) => fits(word)).reduce((sum, [, count]) => sum + count, 0);
      assert.equal(scorer.index.total(prefix), total, `${step} ${prefix}`);
      const [pairs, byCount] = scorer.fittingByCount(prefix);
      const fresh = [...scorer.successors].filter(([word]) => fits(word)).map(([word, { count }]) => [word, count]);
      assert.equal(pairs, fresh.reduce((sum, [, count]) => sum + count, 0), `${step} ${prefix}`);
      assert.deepEqual(new Map(byCount), new Map(fresh), `${step} ${prefix}`);
      assert.deepEqual(byCount.map(([, count]) => count), byCount.map(([, count]) => count).sort((a, b) => b - a));
      const top2 = words.filter(([word]) => fits(word)).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([word]) => word);
      assert.deepEqual(new Set(scorer.unigramCandidates(prefix, 2)), new Set(top2), `${step} ${prefix}`);
    }
  }
});

test('a new word goes into the index in place, as a rebuild would put it (as Python)', () => {
  let seed = 3;
  const next = (n) => Math.floor(((seed = (seed * 48271) % 2147483647) / 2147483647) * n);
  const user = new UserModel();
  const texts = ['a b c'];
  user.learn(texts[0]);
  const index = user.scorer(null).index;
  for (let step = 0; step < 400; step++) {
    const text = ` ${'abcxyz'[next(6)]}${next(60)} é${next(3)} 😀${next(2)}`;
    user.learn(text);
    texts.push(text);
    const fresh = new UserModel(); // the same words learned, its index built once when first read
    fresh.learn(texts.join(''));
    const [got, want] = [user.scorer(null).index, fresh.scorer(null).index];
    assert.equal(got, index, 'kept, never rebuilt, while only learning');
    assert.deepEqual(got.keys, want.keys, `${step}`);
    assert.deepEqual([...got.counts], [...want.counts], `${step}`);
    assert.deepEqual(got.countOf, want.countOf, `${step}`);
    assert.equal(got.largest, want.largest);
  }
});
