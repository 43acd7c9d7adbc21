// The legacy Keras Tokenizer, load-and-encode half: the port of train/tokenizer.py (runtime/tokenizer.py)
// that a runtime needs. Fitting stays in Python; a model file carries the fitted tokenizer as JSON.
import { InputError } from '../errors.js';
import { TOKENIZER_MAX_ID } from '../allowlist.js';
import { parseStrictJsonTyped } from '../strict-json.js';
import { textToChars, textToWords } from './words.js';

export const DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';
const CLASS_NAME = 'Tokenizer';

// The tables legacy stores as JSON strings inside the config: [name, int keys?, value type].
const TABLES = [
  ['word_counts', false, 'int'],
  ['word_docs', false, 'int'],
  ['index_docs', true, 'int'],
  ['index_word', true, 'str'],
  ['word_index', false, 'int'],
];
// Option -> the types Python's isinstance check accepts.
const OPTIONS = {
  num_words: ['int', 'null'],
  filters: ['str'],
  lower: ['bool'],
  split: ['str'],
  char_level: ['bool'],
  oov_token: ['str', 'null'],
  document_count: ['int'],
};

export class Tokenizer {
  constructor({ num_words = null, filters = DEFAULT_FILTERS, lower = true, split = ' ', char_level = false,
    oov_token = null, document_count = 0 } = {}) {
    if (!char_level && !split) throw new InputError('split must be a non-empty string unless char_level=True');
    Object.assign(this, { num_words, filters, lower, split, char_level, oov_token, document_count });
    this.wordIndex = new Map(); // word -> id
    this.indexWord = new Map(); // id -> word
  }

  /** Ids exactly as Python's encode_words(text): [ids, unknown words in text order, repeats kept]. */
  encodeWords(text) {
    const tokens = this.char_level ? textToChars(text, this) : textToWords(text, this);
    const oovId = this.oov_token === null ? undefined : this.wordIndex.get(this.oov_token);
    const ids = [];
    const unknown = [];
    for (const { text: word, key } of tokens) {
      let index = key === null ? undefined : this.wordIndex.get(key);
      if (index !== undefined && this.num_words && index >= this.num_words) {
        index = oovId; // beyond num_words: the oov id, or dropped when there is none
      } else if (index === undefined && this.oov_token !== null) {
        if (oovId === undefined) throw new InputError(`oov_token ${JSON.stringify(this.oov_token)} has no index; fit the tokenizer first`);
        index = oovId;
      }
      if (index !== undefined) ids.push(index);
      if (index === undefined || index === oovId) unknown.push(word);
    }
    return [ids, unknown];
  }

  /** The constructor options: how text becomes ids, without the tables. */
  options() {
    return Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, this[name]]));
  }
}

/** Parse the legacy JSON ({"class_name": "Tokenizer", "config": {...}}); InputError when it is malformed.
 *  Always refused: duplicate keys, ids that are not canonical positive decimals, numbers written as floats where
 *  Python reads an int. strict (a bundled vocabulary from an untrusted file) also demands the tables fitting
 *  makes, as Python's check_tables does. */
export function tokenizerFromJson(text, { strict = false } = {}) {
  const { value: payload, isFloat } = parseStrictJsonTyped(text, 'tokenizer JSON');
  if (!isObject(payload) || payload.class_name !== CLASS_NAME) {
    const found = isObject(payload) ? payload.class_name : typeof payload;
    throw new InputError(`expected a JSON object with class_name "${CLASS_NAME}", got ${JSON.stringify(found)}`);
  }
  const config = payload.config;
  if (!isObject(config)) throw new InputError("tokenizer JSON has no 'config' object");
  const tables = Object.fromEntries(TABLES.map(([name, intKeys, type]) => [name, decodeTable(config, name, intKeys, type)]));
  const options = {};
  for (const [name, value] of Object.entries(config)) {
    if (name in tables) continue;
    if (!Object.hasOwn(OPTIONS, name)) throw new InputError(`tokenizer JSON has an unknown option '${name.slice(0, 40)}'`);
    if (!OPTIONS[name].includes(jsonType(value, isFloat(['config', name])))) {
      throw new InputError(`tokenizer JSON option '${name}' has the wrong type: ${JSON.stringify(value)?.slice(0, 40)}`);
    }
    options[name] = value;
  }
  const tokenizer = new Tokenizer(options);
  tokenizer.wordIndex = new Map(tables.word_index);
  tokenizer.indexWord = new Map(tables.index_word);
  if (strict) checkTables(tokenizer);
  return tokenizer;
}

// The keys legacy writes for ids: String(id) of a positive id. Python's int() would also take " 5 ", "+5", "1_0"
// and "05", so one file could name the same id twice, or an id a reviewer would not read as that number.
const CANONICAL_ID = /^[1-9][0-9]{0,9}$/;

// A table as [key, value] pairs, the int-keyed ones' keys as ids.
function decodeTable(config, name, intKeys, type) {
  if (!Object.hasOwn(config, name)) throw new InputError(`tokenizer JSON lacks the '${name}' table`);
  const keys = intKeys ? ' with integer keys' : '';
  if (typeof config[name] !== 'string') throw new InputError(`tokenizer JSON field '${name}' is not a JSON-encoded object`);
  const { value: table, isFloat } = parseStrictJsonTyped(config[name], `tokenizer JSON table '${name}'`);
  if (!isObject(table)) throw new InputError(`tokenizer JSON field '${name}' is not a JSON-encoded object${keys}`);
  const entries = Object.entries(table);
  if (intKeys) {
    for (const [key] of entries) {
      if (!(CANONICAL_ID.test(key) && Number(key) <= TOKENIZER_MAX_ID)) {
        throw new InputError(`tokenizer JSON table '${name}' has the key ${JSON.stringify(key.slice(0, 20))}: integer keys must be ids 1, 2, ...`);
      }
    }
  }
  if (!entries.every(([key, value]) => jsonType(value, isFloat([key])) === type)) {
    throw new InputError(`tokenizer JSON table '${name}' has values that are not ${type}`);
  }
  return intKeys ? entries.map(([key, value]) => [Number(key), value]) : entries;
}

/** The shape fit_on_texts gives the tables (Python: check_tables); InputError naming the field. */
function checkTables(tokenizer) {
  const { indexWord, wordIndex } = tokenizer;
  if (tokenizer.num_words !== null && tokenizer.num_words < 0) throw new InputError(`tokenizer JSON option 'num_words' is negative: ${tokenizer.num_words}`);
  if (wordIndex.size !== indexWord.size || [...wordIndex].some(([word, id]) => indexWord.get(id) !== word)) {
    throw new InputError("tokenizer JSON tables 'index_word' and 'word_index' disagree (each id needs one word)");
  }
  if (indexWord.size) {
    let top = 0;
    for (const id of indexWord.keys()) top = Math.max(top, id);
    const oovId = tokenizer.oov_token !== null ? wordIndex.get(tokenizer.oov_token) : undefined;
    const first = !indexWord.has(1) && oovId !== undefined && oovId !== 1 ? 2 : 1;
    if (indexWord.size !== top - first + 1) throw new InputError(`tokenizer JSON table 'index_word' has gaps: ${indexWord.size} ids up to ${top}`);
  }
  if (tokenizer.oov_token !== null && !wordIndex.has(tokenizer.oov_token)) {
    throw new InputError(`tokenizer JSON option 'oov_token' ${JSON.stringify(tokenizer.oov_token.slice(0, 40))} has no id in 'word_index'`);
  }
}

// JSON.parse cannot tell 3 from 3.0; the scan of parseStrictJsonTyped can, and Python reads 3.0 as a float.
function jsonType(value, float = false) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return float || !Number.isInteger(value) ? 'float' : 'int';
  return Array.isArray(value) ? 'list' : 'object';
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
