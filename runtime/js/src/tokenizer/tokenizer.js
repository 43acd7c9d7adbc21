// The legacy Keras Tokenizer, load-and-encode half: the port of train/tokenizer.py (runtime/tokenizer.py)
// that a runtime needs. Fitting stays in Python; a model file carries the fitted tokenizer as JSON.
import { InputError } from '../errors.js';
import { parseStrictJson } from '../strict-json.js';
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

/** Parse the legacy JSON ({"class_name": "Tokenizer", "config": {...}}); InputError when it is malformed. */
export function tokenizerFromJson(text) {
  const payload = parseStrictJson(text, 'tokenizer JSON');
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
    if (!Object.hasOwn(OPTIONS, name)) throw new InputError(`tokenizer JSON has an unknown option '${name}'`);
    if (!OPTIONS[name].includes(jsonType(value))) throw new InputError(`tokenizer JSON option '${name}' has the wrong type: ${JSON.stringify(value)}`);
    options[name] = value;
  }
  const tokenizer = new Tokenizer(options);
  tokenizer.wordIndex = new Map(tables.word_index);
  tokenizer.indexWord = new Map(tables.index_word);
  return tokenizer;
}

// A table as [key, value] pairs, keys converted as Python's int(key) would (for the int-keyed ones).
function decodeTable(config, name, intKeys, type) {
  if (!Object.hasOwn(config, name)) throw new InputError(`tokenizer JSON lacks the '${name}' table`);
  const keys = intKeys ? ' with integer keys' : '';
  if (typeof config[name] !== 'string') throw new InputError(`tokenizer JSON field '${name}' is not a JSON-encoded object${keys}`);
  const table = parseStrictJson(config[name], `tokenizer JSON table '${name}'`);
  if (!isObject(table)) {
    throw new InputError(`tokenizer JSON field '${name}' is not a JSON-encoded object${keys}`);
  }
  const entries = Object.entries(table).map(([key, value]) => [intKeys ? pyInt(key) : key, value]);
  if (entries.some(([key]) => key === null)) throw new InputError(`tokenizer JSON field '${name}' is not a JSON-encoded object${keys}`);
  if (!entries.every(([, value]) => jsonType(value) === type)) {
    throw new InputError(`tokenizer JSON table '${name}' has values that are not ${type}`);
  }
  return entries;
}

// Python's int(str): optional whitespace and sign, ASCII digits with single underscores between them.
// (Python also takes other Unicode digits; a Python-written tokenizer never has them.)
function pyInt(key) {
  const match = /^\s*([+-]?)(\d(?:_?\d)*)\s*$/.exec(key);
  if (!match) return null;
  const value = Number(match[1] + match[2].replaceAll('_', ''));
  return Number.isSafeInteger(value) ? value : null;
}

function jsonType(value) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  // JSON.parse cannot tell 3 from 3.0; Python can (a float). Only Python-written files matter here.
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return Array.isArray(value) ? 'list' : 'object';
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
