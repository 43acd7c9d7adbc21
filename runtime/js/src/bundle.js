// What every exported file carries (Python: runtime/bundle.py): three metadata entries, the same in ONNX
// metadata_props and TFLite Model.metadata, and an optional fourth, the casing table (casing.js). The
// config's kind picks the model strategy (kinds/); a format version this runtime does not read is refused
// with both versions named.
import { CONFIG_REQUIRED_FIELDS } from './allowlist.js';
import { caseTableFromJson } from './casing.js';
import { configFromJson } from './config.js';
import { CorruptModelError, InputError, MissingMetadataError, UnsupportedVersionError, VocabularyMismatchError } from './errors.js';
import {
  FORMAT_VERSION, KEY_CASING, KEY_CONFIG, KEY_FORMAT_VERSION, KEY_TOKENIZER, KINDS_BY_VERSION, METADATA_KEYS, READABLE_FORMAT_VERSIONS,
} from './contract.js';
import { KINDS } from './kinds/index.js';
import { pyLower } from './tokenizer/pylower.js';
import { tokenizerFromJson } from './tokenizer/tokenizer.js';

export { FORMAT_VERSION, KEY_CASING, KEY_CONFIG, KEY_FORMAT_VERSION, KEY_TOKENIZER, METADATA_KEYS, READABLE_FORMAT_VERSIONS };

/** Ids the model can output: 0 (padding) up to the largest word id, capped by num_words (as Python). */
export function vocabSizeOf(tokenizer) {
  let size = 1;
  for (const id of tokenizer.indexWord.keys()) size = Math.max(size, id + 1);
  return tokenizer.num_words ? Math.min(size, tokenizer.num_words) : size;
}

/** entries: Map or object of key -> string. Returns {formatVersion, kind, tokenizer, config, casing}
 *  (casing: a Map of word -> display form, empty when the file has no table). */
export function decodeBundle(entries, { source = 'model' } = {}) {
  const get = (key) => (entries instanceof Map ? entries.get(key) : Object.hasOwn(entries, key) ? entries[key] : undefined);
  const missing = METADATA_KEYS.filter((key) => get(key) === undefined);
  if (missing.length) {
    throw new MissingMetadataError(`${source} has no nextword metadata (${missing.join(', ')} missing); was it exported by \`nextword export\`?`);
  }
  const rawVersion = get(KEY_FORMAT_VERSION);
  if (!/^[0-9]{1,9}$/.test(rawVersion)) {
    throw new CorruptModelError(`${source} has a malformed format version ${JSON.stringify(rawVersion.slice(0, 20))}`);
  }
  const version = Number(rawVersion);
  if (!READABLE_FORMAT_VERSIONS.includes(version)) {
    const relation = version > FORMAT_VERSION ? 'newer than' : 'older than';
    throw new UnsupportedVersionError(`${source} has format version ${version}, ${relation} this runtime's version ${FORMAT_VERSION} `
      + `(it reads versions ${READABLE_FORMAT_VERSIONS.join(', ')})`);
  }
  let tokenizer;
  let config;
  try {
    tokenizer = tokenizerFromJson(get(KEY_TOKENIZER), { strict: true });
    config = configFromJson(get(KEY_CONFIG), { required: CONFIG_REQUIRED_FIELDS[version] });
  } catch (error) {
    if (error instanceof UnsupportedVersionError) throw error;
    if (error instanceof InputError || error instanceof TypeError || error instanceof RangeError) {
      throw new CorruptModelError(`${source} has unreadable bundled metadata: ${error.message.slice(0, 200)}`);
    }
    throw error;
  }
  if (!KINDS_BY_VERSION[version].includes(config.kind)) { // version 1 predates the kinds: its files are window models
    throw new CorruptModelError(`${source}: format version ${version} holds ${KINDS_BY_VERSION[version].join(' and ')} models only, not ${JSON.stringify(config.kind)}`);
  }
  const kind = KINDS[config.kind];
  if (!kind) throw new UnsupportedVersionError(`${source} holds a ${JSON.stringify(config.kind)} model (format version ${version}), which this JavaScript runtime does not run yet`);
  if (config.vocab_size < 2) { // id 0 is padding: a model needs at least one word to suggest
    throw new VocabularyMismatchError(`${source}: bundled config vocab_size is ${config.vocab_size}; at least 2 needed`);
  }
  if (vocabSizeOf(tokenizer) !== config.vocab_size) {
    throw new VocabularyMismatchError(`${source}: bundled tokenizer has ${vocabSizeOf(tokenizer)} ids but the config says ${config.vocab_size}`);
  }
  let top = 0;
  for (const id of tokenizer.indexWord.keys()) top = Math.max(top, id);
  if (top >= config.vocab_size) { // the exporter trims the tokenizer to its num_words
    throw new VocabularyMismatchError(`${source}: bundled tokenizer has ids up to ${top}, past vocab_size ${config.vocab_size}`);
  }
  return { formatVersion: version, kind, tokenizer, config, casing: readCasing(get(KEY_CASING), tokenizer, config, source) };
}

// Read as strictly as Python: a table naming a word the model cannot output, or a form that is not its word
// in other letters' case, refuses the file rather than showing words the model never ranked.
function readCasing(text, tokenizer, config, source) {
  if (text === undefined) return new Map();
  const words = new Set();
  for (let id = 1; id < config.vocab_size; id++) words.add(tokenizer.indexWord.get(id));
  try {
    return caseTableFromJson(text, words, pyLower);
  } catch (error) {
    if (error instanceof InputError) throw new CorruptModelError(`${source} has an unreadable casing table: ${error.message}`);
    throw error;
  }
}

/** TFLite stores bytes: decode the nextword entries as UTF-8 (other entries, e.g. the converter's, are left alone). */
export function entriesToText(raw, { source = 'model' } = {}) {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out = new Map();
  for (const [key, value] of raw) {
    if (!key.startsWith('nextword.')) continue;
    try {
      out.set(key, decoder.decode(value));
    } catch {
      throw new CorruptModelError(`${source}: metadata ${key} is not UTF-8`);
    }
  }
  return out;
}
