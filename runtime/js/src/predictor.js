// Text in, next words out: the one class apps embed, with the Python Predictor's API shape. Engines are
// injected (see node.js and web.js), so this file runs anywhere a JavaScript engine does.
import { decodeBundle, entriesToText } from './bundle.js';
import { startsSentence } from './casing.js';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_METADATA_BYTES } from './allowlist.js';
import { limitsOf } from './checks/limits.js';
import { checkModel } from './checks/model-check.js';
import { CorruptModelError, InputError, UnsafeModelError } from './errors.js';
import { asBytes, readOnnxMetadata } from './formats/onnx.js';
import { sniffFormat } from './formats/sniff.js';
import { readTfliteMetadata } from './formats/tflite.js';
import { createRandom } from './random.js';
import { argmax, sample } from './sampling.js';
import { splitPartial, Suggester } from './suggest.js';
import { previousWord, UserModel } from './user-model.js';

// Limits for untrusted files, Python's (allowlist.js is generated from it): a 50k-word, 256-unit model is ~50 MB,
// a 100k-word tokenizer JSON ~10 MB.
export { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_METADATA_BYTES };
const DEFAULT_BATCH_SIZE = 256;

export class Predictor {
  /**
   * Load an exported file from its bytes. options.engines maps a format ('onnx', 'tflite') to
   * async (bytes, {threads}) => engine; the entry points (nextword/node, nextword/web) supply them.
   * maxVocabSize, maxSeqLen, maxStateSize, maxUnits, maxLayers, maxTensorElements, maxPlannedBytes bound what
   * the file's numbers allocate (checks/limits.js, Python's runtime/limits.py).
   */
  static async load(bytes, options = {}) {
    const { engines = {}, threads = 1 } = options;
    if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be at least 1, got ${threads}`);
    const { data, format, bundle, source } = Predictor.inspect(bytes, options);
    // The exporter's graph only, every size within the limits: nothing reaches an engine before this, and a
    // hostile file gets its own refusal whether or not an engine for its format was given.
    checkModel(data, format, bundle.config, limitsOf(options), source);
    const createEngine = engines[format];
    if (!createEngine) throw new InputError(`no ${format} engine was given; load through nextword/node or nextword/web, or pass options.engines.${format}`);
    return Predictor.open(await createEngine(data, { threads }), bundle, source);
  }

  /** {data, format, bundle, source} of a file's bytes, read by our own checked parsers alone (no engine, and not
   *  yet the graph checks load makes): what a file says it holds. */
  static inspect(bytes, { backend, source = 'model', maxFileBytes = DEFAULT_MAX_FILE_BYTES, maxMetadataBytes = DEFAULT_MAX_METADATA_BYTES } = {}) {
    const data = asBytes(bytes);
    if (data.length > maxFileBytes) throw new UnsafeModelError(`${source} is ${data.length} bytes, over the ${maxFileBytes}-byte limit (raise maxFileBytes to allow it)`);
    const format = sniffFormat(data, source);
    if (backend !== undefined && backend !== format) {
      if (!['onnx', 'tflite'].includes(backend)) throw new InputError(`unknown backend ${JSON.stringify(backend)}; choose from onnx, tflite`);
      throw new CorruptModelError(`${source} is in the ${format} format, not ${backend}`);
    }
    // Metadata first, in our own checked readers: nothing reaches an engine until the file is understood.
    const entries = format === 'tflite'
      ? entriesToText(readTfliteMetadata(data, { maxValueBytes: maxMetadataBytes }), { source })
      : readOnnxMetadata(data, { maxValueBytes: maxMetadataBytes });
    return { data, format, bundle: decodeBundle(entries, { source }), source };
  }

  /** A Predictor over an engine started on bytes that load has checked (tests give a fake engine here): the
   *  kind reads the engine's ports against the bundled config, then warms up (its distribution must sum to 1). */
  static async open(engine, bundle, source = 'model') {
    const model = bundle.kind.open(engine, bundle, source);
    await model.warmUp();
    return new Predictor(model, engine, bundle, source);
  }

  constructor(model, engine, bundle, source) {
    this.model = model;
    this.engine = engine;
    this.bundle = bundle;
    this.source = source;
    this.tokenizer = bundle.tokenizer;
    this.seqLen = bundle.config.seq_len;
    this.vocabSize = bundle.config.vocab_size;
    // id -> word, built once; ids without a word (an unused id 1) read as ''.
    this.words = Array.from({ length: this.vocabSize }, (_, i) => (i === 0 ? '' : this.tokenizer.indexWord.get(i) ?? ''));
    const oov = this.tokenizer.oov_token === null ? undefined : this.tokenizer.wordIndex.get(this.tokenizer.oov_token);
    this.oovId = oov !== undefined && oov > 0 && oov < this.vocabSize ? oov : null;
  }

  /** id -> word for every id the model can output (0, the padding id, has no word). */
  get vocabulary() {
    return new Map(this.words.map((word, id) => [id, word]).slice(1));
  }

  get metadata() {
    return { formatVersion: this.bundle.formatVersion, kind: this.bundle.kind.name, backend: this.engine.name, source: this.source,
      config: { ...this.bundle.config }, tokenizer: this.tokenizer.options() };
  }

  /** [ids, unknown words] of text, as the tokenizer that trained the model computes them. */
  encode(text) {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, not ${text === null ? 'null' : typeof text}`);
    return this.tokenizer.encodeWords(text);
  }

  /** The k likeliest next words, highest first: [{word, probability}] with .unknownWords. */
  async predictNext(text, k = 5) {
    return (await this.predictNextBatch([text], k))[0];
  }

  /** predictNext for many texts, one engine call per batchSize texts. */
  async predictNextBatch(texts, k = 5, { batchSize = DEFAULT_BATCH_SIZE } = {}) {
    k = this.checkK(k);
    if (typeof texts === 'string' || !texts || typeof texts[Symbol.iterator] !== 'function') {
      throw new TypeError('texts must be an array of strings (for one string use predictNext)');
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be at least 1, got ${batchSize}`);
    const list = [...texts];
    const results = [];
    for (let start = 0; start < list.length; start += batchSize) {
      const encoded = list.slice(start, start + batchSize).map((text) => this.encode(text));
      const rows = await this.model.top(encoded.map(([ids]) => ids), k);
      rows.forEach((row, r) => results.push(this.prediction(row, encoded[r][1])));
    }
    return results;
  }

  /** [{word, probability}] with .unknownWords, from a kind's {ids, probs}. */
  prediction({ ids, probs }, unknownWords) {
    const prediction = ids.map((id, i) => ({ word: this.words[id], probability: probs[i] }));
    prediction.unknownWords = unknownWords;
    return prediction;
  }

  /** The k words a suggestion bar shows for text, highest first: completions of the word being typed when
   *  text ends inside one, else the likeliest next words; never the OOV token, each in display casing.
   *  [{word, probability}] with .unknownWords, as predictNext. options.user: a UserModel (user-model.js)
   *  whose words and phrases are mixed in. */
  async suggest(text, k = 3, { user = null } = {}) {
    k = this.checkK(k);
    if (typeof text !== 'string') throw new TypeError(`text must be a string, not ${text === null ? 'null' : typeof text}`);
    checkUser(user);
    const [finished, partial] = splitPartial(text, this.tokenizer);
    const [ids, unknown] = this.encode(finished);
    // Only what this text needs is run: the graph's own top-k between words, the whole distribution mid-word.
    let probs;
    const source = {
      top: async (n) => (await this.model.top([ids], n))[0],
      probs: async () => (probs ??= this.model.next(await this.model.begin(ids))),
    };
    return this.suggestions(source, partial, k, startsSentence(finished), unknown, user, previousWord(finished));
  }

  /** suggest() from a kind's view of one point in a text (suggest.js): for Session.suggest too. */
  async suggestions(source, partial, k, sentenceStart, unknownWords, user = null, previous = null) {
    const suggestions = await this.suggester.suggest(source, partial, k, { sentenceStart, user, previous });
    suggestions.unknownWords = unknownWords;
    return suggestions;
  }

  /** Built at the first suggestion, not at load: the prefix index sorts the vocabulary once. */
  get suggester() {
    this._suggester ??= new Suggester(this.words, this.oovId, this.bundle.casing ?? new Map(), this.tokenizer);
    return this._suggester;
  }

  /** A Session (session.js) that carries the LSTM state between calls: sequence models only. */
  async session({ user = null } = {}) {
    checkUser(user);
    if (this.bundle.kind.name !== 'sequence') {
      throw new InputError(`${this.source} is a ${this.bundle.kind.name} model, which has no state to carry: a session needs a sequence model; call predictNext(text) with the text so far instead`);
    }
    const { Session } = await import('./session.js');
    const session = new Session(this, user);
    await session.reset();
    return session;
  }

  /** The next nWords words after text, space-separated (the prompt is not repeated). The OOV token is
   *  never generated: a fine answer to "what comes next?", but not a word to write into text. */
  async generate(text, nWords = 20, options = {}) {
    const checked = this.checkGenerate(nWords, options);
    const [ids] = this.encode(text);
    return (await this.continueFrom(await this.model.begin(ids), nWords, checked)).text;
  }

  checkGenerate(nWords, { strategy = 'greedy', temperature = 1.0, topK = null, seed = null } = {}) {
    if (!Number.isInteger(nWords) || nWords < 0) throw new InputError(`nWords must be a non-negative integer, got ${nWords}`);
    if (strategy !== 'greedy' && strategy !== 'sample') throw new InputError(`strategy must be 'greedy' or 'sample', got ${JSON.stringify(strategy)}`);
    if (typeof temperature !== 'number' || !(temperature > 0)) throw new InputError(`temperature must be positive, got ${temperature}`);
    if (topK !== null && topK !== undefined) topK = this.checkK(topK, 'topK');
    else topK = null;
    if (seed !== null && seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) throw new InputError(`seed must be a non-negative integer, got ${seed}`);
    return { strategy, temperature, topK, random: createRandom(seed).random };
  }

  /** nWords words after the kind's generation state: {text, state} (a Session keeps the state). */
  async continueFrom(state, nWords, { strategy, temperature, topK, random }) {
    const words = [];
    for (let n = 0; n < nWords; n++) {
      const probs = Float64Array.from((await this.model.next(state)).subarray(1)); // id 0 is padding, never a word
      const exclude = this.oovId === null ? -1 : this.oovId - 1;
      let next;
      if (strategy === 'greedy') {
        if (exclude >= 0 && probs.length > 1) probs[exclude] = 0;
        next = argmax(probs) + 1;
      } else {
        next = sample(probs, temperature, topK, random, exclude) + 1;
      }
      words.push(this.words[next]);
      state = await this.model.advance(state, next);
    }
    return { text: words.join(' '), state };
  }

  async release() {
    await this.engine.release?.();
  }

  checkK(k, name = 'k') {
    if (typeof k !== 'number' || !Number.isInteger(k)) throw new TypeError(`${name} must be an integer, not ${typeof k === 'number' ? k : typeof k}`);
    if (k < 1) throw new InputError(`${name} must be at least 1, got ${k}`);
    return Math.min(k, this.vocabSize - 1); // more words than the vocabulary has: all of them
  }
}

function checkUser(user) {
  if (user !== null && !(user instanceof UserModel)) throw new TypeError('user must be a UserModel or null');
}
