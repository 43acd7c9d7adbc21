// The training config bundled in every file (Python: runtime/config.py TrainConfig), checked as Python
// checks it, so a file one runtime refuses the other refuses too. Only seq_len and vocab_size drive
// inference; the rest is checked and passed through to `metadata`.
import { CONFIG_FIELD_TYPES, CONFIG_VERSION } from './allowlist.js';
import { KINDS as KIND_NAMES } from './contract.js';
import { InputError, UnsupportedVersionError } from './errors.js';
import { parseStrictJsonTyped } from './strict-json.js';

export { CONFIG_VERSION };
const EARLY_STOPPING_METRICS = ['loss', 'accuracy', 'top5'];
const DEFAULTS = { kind: 'window', seq_len: 3, embedding_dim: 8, units: 8, hidden: 8, layers: 1, dropout: 0.0,
  embedding_dropout: 0.0, weight_drop: 0.0, activation_reg: 0.0, temporal_reg: 0.0, tie_embeddings: false, lr_decay: 1.0, chunk_len: 35,
  clipnorm: null, early_stopping: 'loss', patience: 0, epochs: 20, batch_size: 128, validation_split: 0.1, learning_rate: 0.01,
  seed: 0, num_words: null, oov_token: null, vocab_from_training_split: false, min_count: 1, vocab_size: 0, corpus_sha256: '',
  corpus_name: '', preset: 'default', version: CONFIG_VERSION };

/** Parse and check a config JSON as Python's TrainConfig.from_json does; returns the plain object.
 *  required: fields the file must state (CONFIG_REQUIRED_FIELDS of its format version); the rest take their
 *  defaults. InputError / UnsupportedVersionError. */
export function configFromJson(text, { required = [] } = {}) {
  const { value: data, isFloat } = parseStrictJsonTyped(text, 'config JSON');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new InputError('config must be a JSON object');
  if (data.version !== CONFIG_VERSION) {
    throw new UnsupportedVersionError(`config version ${JSON.stringify(data.version ?? null).slice(0, 40)} is not supported; this nextword reads version ${CONFIG_VERSION}`);
  }
  const unknown = Object.keys(data).filter((name) => !Object.hasOwn(CONFIG_FIELD_TYPES, name)).sort();
  if (unknown.length) throw new InputError(`config has unknown fields: ${unknown.slice(0, 5).map((name) => name.slice(0, 40)).join(', ')}`);
  const missing = required.filter((name) => !Object.hasOwn(data, name));
  if (missing.length) throw new InputError(`config lacks the field '${missing[0]}'`);
  for (const [name, value] of Object.entries(data)) {
    // JSON has one number type: a float field may hold 1, but no int field holds 1.0 (nor 1e1), and only a bool
    // field holds true, as in Python.
    const allowed = CONFIG_FIELD_TYPES[name];
    const type = jsonType(value, isFloat([name]));
    if (!(allowed.includes(type) || (type === 'int' && allowed.includes('float')))) {
      throw new InputError(`config field '${name}' must be ${allowed.join(' or ')}, got ${JSON.stringify(value)?.slice(0, 40)}`);
    }
  }
  const config = { ...DEFAULTS, ...data };
  check(config);
  return config;
}

function jsonType(value, float) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return float || !Number.isInteger(value) ? 'float' : 'int';
  return Array.isArray(value) ? 'list' : 'object';
}

function check(c) {
  if (!KIND_NAMES.includes(c.kind)) throw new InputError(`kind must be one of ${KIND_NAMES.join(', ')}, got ${JSON.stringify(c.kind)}`);
  if (!EARLY_STOPPING_METRICS.includes(c.early_stopping)) {
    throw new InputError(`early_stopping must be one of ${EARLY_STOPPING_METRICS.join(', ')}, got ${JSON.stringify(c.early_stopping)}`);
  }
  if (!Number.isInteger(c.seq_len) || !Number.isInteger(c.vocab_size)) {
    throw new InputError('bundled config has a non-integer seq_len or vocab_size');
  }
  if (c.seq_len < 2) throw new InputError(`seq_len must be at least 2 (one context word and one target), got ${c.seq_len}`);
  for (const name of ['embedding_dim', 'units', 'hidden', 'epochs', 'batch_size', 'layers', 'chunk_len', 'min_count']) {
    if (!Number.isInteger(c[name]) || c[name] < 1) throw new InputError(`${name} must be a positive integer, got ${JSON.stringify(c[name])}`);
  }
  if (c.min_count > 1 && c.oov_token === null) throw new InputError('min_count needs an oov_token for the words it leaves out');
  if (typeof c.validation_split !== 'number' || !(c.validation_split >= 0 && c.validation_split < 1)) {
    throw new InputError(`validation_split must be in [0, 1), got ${JSON.stringify(c.validation_split)}`);
  }
  if (c.num_words !== null && (!Number.isInteger(c.num_words) || c.num_words < 2)) {
    throw new InputError(`num_words must be an integer of at least 2, got ${JSON.stringify(c.num_words)}`);
  }
  if (c.vocab_from_training_split && c.oov_token === null) {
    throw new InputError('vocab_from_training_split needs an oov_token for the words only the held-out text has');
  }
  if (typeof c.learning_rate !== 'number' || !(c.learning_rate > 0)) {
    throw new InputError(`learning_rate must be positive, got ${JSON.stringify(c.learning_rate)}`);
  }
  for (const name of ['dropout', 'embedding_dropout', 'weight_drop']) {
    if (typeof c[name] !== 'number' || !(c[name] >= 0 && c[name] < 1)) throw new InputError(`${name} must be in [0, 1), got ${JSON.stringify(c[name])}`);
  }
  for (const name of ['activation_reg', 'temporal_reg']) {
    if (typeof c[name] !== 'number' || !(c[name] >= 0 && c[name] < Infinity)) throw new InputError(`${name} must be a non-negative number, got ${JSON.stringify(c[name])}`);
  }
  if (typeof c.lr_decay !== 'number' || !(c.lr_decay > 0 && c.lr_decay <= 1)) throw new InputError(`lr_decay must be in (0, 1], got ${JSON.stringify(c.lr_decay)}`);
  if (typeof c.tie_embeddings !== 'boolean') throw new InputError(`tie_embeddings must be a boolean, got ${JSON.stringify(c.tie_embeddings)}`);
  if (c.clipnorm !== null && (typeof c.clipnorm !== 'number' || !(c.clipnorm > 0))) {
    throw new InputError(`clipnorm must be positive (or None), got ${JSON.stringify(c.clipnorm)}`);
  }
  if (!Number.isInteger(c.patience) || c.patience < 0) throw new InputError(`patience must be a non-negative integer, got ${JSON.stringify(c.patience)}`);
}
