// The shared hostile set (make_hostile.py, written by make_fixtures.sh into NEXTWORD_JS_FIXTURES/hostile): each
// file refused with the class its manifest names, the class Python raises (tests/runtime/test_hostile_files.py),
// and before any engine is started on its bytes; each original loads. Skipped without the fixtures.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as errors from '../src/errors.js';
import { Predictor } from '../src/index.js';

const dir = process.env.NEXTWORD_JS_FIXTURES && join(process.env.NEXTWORD_JS_FIXTURES, 'hostile');
const skip = dir && existsSync(join(dir, 'manifest.json')) ? false : 'NEXTWORD_JS_FIXTURES has no hostile/ (test/make_fixtures.sh writes it)';

class EngineReached extends Error {}

// Engines that only record being reached: a hostile file that got this far would have run in a real one.
const engines = { onnx: async () => { throw new EngineReached('onnx'); }, tflite: async () => { throw new EngineReached('tflite'); } };

describe('the shared hostile files', { skip }, () => {
  const { cases } = skip ? { cases: [] } : JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

  test('cover both kinds and formats and the issue\'s cases', () => {
    assert.equal(new Set(cases.map((c) => `${c.kind}/${c.format}`)).size, 4);
    for (const name of ['loop-2-62', 'constant-of-shape-2gib', 'chain-100k-nodes', 'chain-100k-operators', 'while']) {
      assert.ok(cases.some((c) => c.case === name), name);
    }
  });

  for (const c of cases) {
    test(`${c.file}: ${c.expect ?? 'loads'}`, async () => {
      const bytes = readFileSync(join(dir, c.file));
      if (c.expect === null) {
        await assert.rejects(Predictor.load(bytes, { engines, source: c.file }), EngineReached);
        await assert.rejects(Predictor.load(bytes, { source: c.file }), (e) => e instanceof errors.InputError && /no \w+ engine was given/.test(e.message));
        return;
      }
      // Refused as the file deserves whether or not an engine for its format was given.
      await assert.rejects(Predictor.load(bytes, { source: c.file }), errors[c.expect]);
      await assert.rejects(Predictor.load(bytes, { engines, source: c.file }), (error) => {
        assert.ok(!(error instanceof EngineReached), `${c.file} reached the ${error.message} engine`);
        assert.equal(error.constructor, errors[c.expect], `${c.file}: ${error.name}: ${error.message}`);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    });
  }
});
