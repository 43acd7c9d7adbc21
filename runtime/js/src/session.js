// A typing session over a sequence model (Python: runtime/session.py): the LSTM state is carried, so each
// new word costs one engine step, whatever the length of the text so far.
//   const s = await predictor.session();
//   await s.feed('to be or');   // runs only these words
//   await s.predict(5);         // from the last step's outputs: no engine call for k <= the graph's top-k
//   await s.suggest('n', 3);    // completions of the word being typed ('' between words): one engine call
//                               // for its first letter, none for the next letters of the same word
//   const t = s.copy();         // a branch: feeding t never changes s
//   await s.generate(5);        // generated words are fed too
//   await s.reset();            // the start of a new text
// Text fed in pieces tokenizes as the whole text only if each piece ends at a word boundary.
// A session belongs to one caller, as in Python. Feeds that overlap anyway (feed() called again before the last
// resolved) run one after another, in call order: each step must start from the state the one before left.
import { startsSentence } from './casing.js';
import { InputError } from './errors.js';
import { isBlank } from './tokenizer/pystring.js';
import { previousWord } from './user-model.js';

export class Session {
  #feeding = Promise.resolve(); // the last feed queued: the next one runs after it, whether it resolved or failed

  constructor(predictor, user = null) {
    this.predictor = predictor;
    this.user = user; // a UserModel suggest() mixes in (user-model.js), or null
    this.model = predictor.model;
    this.step = null;
    this.unknownWords = [];
    this.wordsFed = 0;
    this.sentenceStart = true; // whether the next word starts a sentence (display casing capitalizes it)
    // Set by the first bar that needed the whole distribution (a completion): from then on each step fetches it
    // with the step, in the same engine call, instead of running the step again at the next word's first letter.
    this.fetchesFull = false;
  }

  /** Forget the text: back to the state after the start id (computed once per Predictor). */
  async reset() {
    this.step = await this.model.start();
    this.unknownWords = [];
    this.wordsFed = 0;
    this.sentenceStart = true;
    this.previous = null; // the last word fed, lowercase: a user model's context
  }

  /** An independent session at the same point of the same text (steps are never written to: O(1)). */
  copy() {
    const other = new Session(this.predictor, this.user);
    const { step, wordsFed, sentenceStart, previous, fetchesFull } = this;
    Object.assign(other, { step, unknownWords: [...this.unknownWords], wordsFed, sentenceStart, previous, fetchesFull });
    return other;
  }

  /** A copy of the LSTM state, laid out [h_1, c_1, h_2, c_2, ...]. */
  get state() {
    return Float32Array.from(this.step.state);
  }

  /** Run the words of text (only these); resolves to the ones the vocabulary lacks. */
  feed(text) {
    return this.#serially(() => this.#feed(text));
  }

  /** Run token ids (1 .. vocabSize - 1) as if their words had been fed. */
  feedIds(ids) {
    ids = Array.from(ids); // now: a caller may reuse its array while this feed waits its turn
    return this.#serially(() => this.#feedIds(ids));
  }

  #serially(run) {
    const done = this.#feeding.then(run);
    this.#feeding = done.catch(() => {}); // a refused feed is its caller's error, not the next feed's
    return done;
  }

  async #feed(text) {
    const [ids, unknown] = this.predictor.encode(text);
    if (ids.length) await this.#feedIds(ids);
    for (const word of unknown) this.unknownWords.push(word); // no spread: a long text may hold 100k+ of them
    if (!isBlank(text)) {
      this.sentenceStart = startsSentence(text);
      this.previous = previousWord(text);
    }
    return unknown;
  }

  async #feedIds(ids) {
    if (!ids.length) return;
    if (ids.some((id) => !Number.isInteger(id) || id < 1 || id >= this.predictor.vocabSize)) {
      throw new InputError(`ids must be integers in [1, ${this.predictor.vocabSize})`);
    }
    // With a user model every bar reads the whole distribution, and so does a completion: once one was asked for,
    // fetch it with the step (one engine call), as Python.
    this.step = (await this.model.feedRows(this.step.state, [ids], { full: this.user !== null || this.fetchesFull }))[0];
    this.wordsFed += ids.length;
    this.sentenceStart = false;
    this.previous = null; // ids carry no written word
  }

  /** The k likeliest next words, as Predictor.predictNext gives them for the whole text fed so far. */
  async predict(k = 5) {
    k = this.predictor.checkK(k);
    if (k > this.model.topK) this.step = await this.model.full(this.step);
    return this.predictor.prediction(this.model.ranked(this.step, k), [...this.unknownWords]);
  }

  /** What a suggestion bar shows after the words fed so far: the k likeliest next words, or, with the letters
   *  typed of the current word in partial, the k likeliest words that complete it (Predictor.suggest). */
  async suggest(partial = '', k = 3) {
    k = this.predictor.checkK(k);
    const suggester = this.predictor.suggester;
    partial = suggester.checkPartial(partial);
    if (suggester.needsDistribution(partial, k, this.model.topK) || this.user) {
      this.fetchesFull = true;
      this.step = await this.model.full(this.step); // kept: the next letter of the same word costs no engine call
    }
    const step = this.step;
    const source = { top: async (n) => this.model.ranked(step, n), probs: async () => step.probs };
    return this.predictor.suggestions(source, partial, k, this.sentenceStart, [...this.unknownWords], this.user, this.previous);
  }

  /** The next nWords words, fed into the session as they are chosen (one engine step per word). */
  async generate(nWords = 20, options = {}) {
    const checked = this.predictor.checkGenerate(nWords, options);
    const { text, state } = await this.predictor.continueFrom(await this.model.full(this.step), nWords, checked);
    this.step = state;
    if (nWords) this.previous = previousWord(text); // the user model's context is the last generated word
    this.wordsFed += nWords;
    this.sentenceStart &&= !nWords;
    return text;
  }
}
