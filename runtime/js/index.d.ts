// Hand-written types for nextword's core (src/index.js). Engines are injected; see node.d.ts and web.d.ts.

export type ModelBytes = Uint8Array | ArrayBuffer | ArrayBufferView;

export interface Suggestion {
  word: string;
  probability: number;
}

/** The k likeliest next words, highest first, plus the words of the text the vocabulary lacks. */
export type Prediction = Suggestion[] & { unknownWords: string[] };

/** What a suggestion bar shows (suggest): words in display casing, never the OOV token or padding. */
export type Suggestions = Prediction;

export interface Port {
  name: string;
  dtype: string;
  /** Batch first; a dynamic dimension may be -1, null or a name. */
  shape: Array<number | string | null>;
}

export interface EngineTensor {
  data: Float32Array | Int32Array;
  dims: number[];
}

export interface EngineInput {
  name: string;
  data: Int32Array | Float32Array;
  dims: number[];
}

/** What a model kind needs from an inference engine (onnxruntime, LiteRT.js, or your own). */
export interface Engine {
  name: string;
  inputs: Port[];
  outputs: Port[];
  /** One input (window kind), or ids and state (sequence kind). */
  run(inputs: EngineInput | EngineInput[], outputNames: string[]): Promise<Record<string, EngineTensor | undefined>>;
  release?(): void | Promise<void>;
}

export type EngineFactory = (bytes: Uint8Array, options: { threads: number }) => Promise<Engine>;

export interface LoadOptions {
  /** format -> engine factory; the nextword/node and nextword/web entry points supply defaults. */
  engines?: Partial<Record<'onnx' | 'tflite', EngineFactory>>;
  /** Refuse a file of the other format. */
  backend?: 'onnx' | 'tflite';
  threads?: number;
  /** Name used in error messages. */
  source?: string;
  maxFileBytes?: number;
  maxMetadataBytes?: number;
  /** Bounds on what the file's numbers may allocate (Python's Limits; defaults in src/allowlist.js). */
  maxVocabSize?: number;
  maxSeqLen?: number;
  maxStateSize?: number;
  maxUnits?: number;
  maxLayers?: number;
  maxTensorElements?: number;
  maxPlannedBytes?: number;
}

/** What a file says it holds, read by the runtime's own parsers (Predictor.inspect). */
export interface InspectedFile {
  data: Uint8Array;
  format: 'onnx' | 'tflite';
  bundle: { formatVersion: number; config: Record<string, unknown>; tokenizer: Tokenizer; casing: Map<string, string> };
  source: string;
}

export interface GenerateOptions {
  strategy?: 'greedy' | 'sample';
  temperature?: number;
  topK?: number | null;
  /** A non-negative safe integer; the same seed gives the same text (not Python's text: the PRNG differs). */
  seed?: number | null;
}

export interface PredictorMetadata {
  formatVersion: number;
  kind: string;
  backend: string;
  source: string;
  config: Record<string, unknown>;
  tokenizer: TokenizerOptions;
}

export declare class Predictor {
  /** Checks the bytes (metadata, bundle, operator allowlist, limits, graph) before any engine sees them, then
   *  warms up; every refusal is a ModelFormatError subclass, the class Python raises for the same file. */
  static load(bytes: ModelBytes, options?: LoadOptions): Promise<Predictor>;
  /** The metadata and bundle of a file, without an engine and without the graph checks load makes. */
  static inspect(bytes: ModelBytes, options?: LoadOptions): InspectedFile;
  /** A Predictor over an engine already started on checked bytes (and warmed up): for custom engines and tests. */
  static open(engine: Engine, bundle: InspectedFile['bundle'], source?: string): Promise<Predictor>;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly tokenizer: Tokenizer;
  /** id -> word for every id the model can output (0, the padding id, has no word). */
  readonly vocabulary: Map<number, string>;
  readonly metadata: PredictorMetadata;
  /** [ids, unknown words] of text, exactly as the Python tokenizer computes them. */
  encode(text: string): [number[], string[]];
  predictNext(text: string, k?: number): Promise<Prediction>;
  predictNextBatch(texts: Iterable<string>, k?: number, options?: { batchSize?: number }): Promise<Prediction[]>;
  /** The k words a suggestion bar shows (default 3), highest first: when text ends inside a word, the likeliest
   *  words completing it (each probability is its share among the words the typed letters allow), else the
   *  likeliest next words; in display casing (the bundled table; a sentence's first word, or after a typed
   *  capital, capitalized). Typed letters that start no word give an empty array. As Python's suggest. */
  suggest(text: string, k?: number, options?: { user?: UserModel | null }): Promise<Suggestions>;
  /** The next nWords words (the prompt is not repeated); never the OOV token. */
  generate(text: string, nWords?: number, options?: GenerateOptions): Promise<string>;
  /** Sequence models only: a Session that carries the LSTM state (InputError for a window model). */
  session(options?: { user?: UserModel | null }): Promise<Session>;
  release(): Promise<void>;
}

export interface TokenizerOptions {
  num_words: number | null;
  filters: string;
  lower: boolean;
  split: string;
  char_level: boolean;
  oov_token: string | null;
  document_count: number;
}

/** A typing session over a sequence model: each fed word costs one engine step (Python: Session). A session
 *  belongs to one caller; feeds that overlap anyway run one after another, in call order. */
export declare class Session {
  readonly unknownWords: string[];
  readonly wordsFed: number;
  /** Whether the next word starts a sentence (nothing fed since the reset, or the fed text ended one). */
  readonly sentenceStart: boolean;
  /** The UserModel its suggest() mixes in, or null. */
  user: UserModel | null;
  /** A copy of the LSTM state, laid out [h_1, c_1, h_2, c_2, ...]. */
  readonly state: Float32Array;
  feed(text: string): Promise<string[]>;
  feedIds(ids: Iterable<number>): Promise<void>;
  predict(k?: number): Promise<Prediction>;
  /** Predictor.suggest after the words fed so far; partial holds the letters typed of the current word (an
   *  InputError when it holds a word separator: feed finished words). The distribution fetched for a
   *  partial's first letter is kept, so the next letters of the same word cost no engine call. */
  suggest(partial?: string, k?: number): Promise<Suggestions>;
  generate(nWords?: number, options?: GenerateOptions): Promise<string>;
  copy(): Session;
  reset(): Promise<void>;
}

export declare class Tokenizer implements TokenizerOptions {
  constructor(options?: Partial<TokenizerOptions>);
  num_words: number | null;
  filters: string;
  lower: boolean;
  split: string;
  char_level: boolean;
  oov_token: string | null;
  document_count: number;
  wordIndex: Map<string, number>;
  indexWord: Map<number, string>;
  encodeWords(text: string): [number[], string[]];
  options(): TokenizerOptions;
}
export declare function tokenizerFromJson(text: string): Tokenizer;
export declare const DEFAULT_FILTERS: string;
/** Python's str.lower (its Unicode tables, final sigma included), on any JavaScript engine. */
export declare function pyLower(text: string): string;
/** Python's str.upper, on any JavaScript engine ('ß' -> 'SS'). */
export declare function pyUpper(text: string): string;
/** Python's str.rstrip() (its whitespace: U+0085 and U+001C..U+001F yes, U+FEFF no). */
export declare function pyRstrip(text: string): string;
/** Python's text[:1].upper() + text[1:]. */
export declare function capitalizeFirst(text: string): string;
/** Python's text[:1].isupper(). */
export declare function startsUpper(text: string): boolean;

/** [the finished text, the letters typed of the current word], split where the tokenizer ends words. */
export declare function splitPartial(text: string, tokenizer: Pick<TokenizerOptions, 'filters' | 'split' | 'char_level'>): [string, string];
/** The vocabulary in code point order: the words starting with a prefix are one range. */
export declare class PrefixIndex {
  constructor(words: string[], skip?: Set<number>);
  readonly words: string[];
  readonly ids: Int32Array;
  range(prefix: string): [number, number];
  completions(prefix: string): Int32Array;
}
/** The k ids of ids with the largest probs, highest first, ties to the lower id. */
export declare function topIds(probs: ArrayLike<number>, ids: Int32Array | number[], k: number): number[];
/** Python's string order: by code point, not UTF-16 unit. */
export declare function comparePoints(a: string, b: string): number;
/** word in its display form: its table form, first letter capitalized when asked. */
export declare function display(word: string, table: Map<string, string>, options: { capitalize: boolean }): string;
/** Whether the next word starts a sentence: nothing written yet, or the text ends in . ! or ? (and whitespace). */
export declare function startsSentence(finished: string): boolean;
/** A bundled casing table read strictly (InputError): vocabulary words to forms that lower() back to them. */
export declare function caseTableFromJson(text: string, words: Set<string | undefined>, lower: (text: string) => string): Map<string, string>;
export declare const SENTENCE_ENDS: string;
export declare const MAX_FORM_LENGTH: number;

export interface Bundle {
  formatVersion: number;
  kind: { name: string };
  tokenizer: Tokenizer;
  config: Record<string, unknown> & { seq_len: number; vocab_size: number };
  /** word -> display form, from the optional nextword.casing entry (empty without one). */
  casing: Map<string, string>;
}
export declare function decodeBundle(entries: Map<string, string> | Record<string, string>, options?: { source?: string }): Bundle;
export declare function entriesToText(raw: Map<string, Uint8Array>, options?: { source?: string }): Map<string, string>;
export declare function vocabSizeOf(tokenizer: Tokenizer): number;
export declare const FORMAT_VERSION: number;
export declare const READABLE_FORMAT_VERSIONS: number[];
export declare const METADATA_KEYS: string[];
/** The optional metadata key of the casing table. */
export declare const KEY_CASING: string;
export declare const DEFAULT_MAX_FILE_BYTES: number;
export declare const DEFAULT_MAX_METADATA_BYTES: number;

export declare function readOnnxMetadata(bytes: ModelBytes, options: { maxValueBytes: number }): Map<string, string>;
export declare function readTfliteMetadata(bytes: ModelBytes, options: { maxValueBytes: number }): Map<string, Uint8Array>;
export declare function sniffFormat(bytes: Uint8Array, source: string): 'onnx' | 'tflite';

/** Wrap an onnxruntime module (onnxruntime-node, -web or -react-native) as an Engine. */
export declare function createOnnxEngine(ort: unknown, bytes: Uint8Array, options?: { threads?: number; sessionOptions?: object }): Promise<Engine>;
/** Wrap a loaded @litertjs/core module as an Engine (call loadLiteRt first). */
export declare function createLiteRtEngine(litert: unknown, bytes: Uint8Array, options?: { accelerator?: string }): Promise<Engine>;
export declare function createRandom(seed?: number | null): { nextUint32(): number; random(): number };

export declare class NextwordError extends Error {}
export declare class InputError extends NextwordError {}
export declare class ModelFormatError extends NextwordError {}
export declare class UnsupportedVersionError extends ModelFormatError {}
export declare class MissingMetadataError extends ModelFormatError {}
export declare class VocabularyMismatchError extends ModelFormatError {}
export declare class CorruptModelError extends ModelFormatError {}
export declare class UnsafeModelError extends ModelFormatError {}
export declare class CorruptUserModelError extends NextwordError {}

/** The words one user writes and which word follows which, mixed into suggest() (Python: UserModel; the formula
 *  and the file format are in runtime/user_model.py). Its bytes are Python's for the same learned state. */
export declare class UserModel {
  constructor(options?: { maxEntries?: number });
  readonly maxEntries: number;
  /** Entries kept: words plus pairs (Python's len(user)). */
  readonly size: number;
  /** word (lowercase) -> times learned. */
  readonly words: Map<string, number>;
  /** Count the words of committed text and each word's successor within a sentence (InputError for a lone surrogate). */
  learn(text: string): void;
  /** Forget a word (any casing) and its pairs; whether it was known. */
  forget(word: string): boolean;
  clear(): void;
  /** How the user writes word (lowercase key) when not as the key, else null. */
  form(word: string): string | null;
  /** The file's bytes: "nextword-user 1", a sha256 line, a JSON body (needs crypto.subtle). */
  toBytes(): Promise<Uint8Array>;
  /** Read a user file strictly: damage is a CorruptUserModelError. */
  static fromBytes(bytes: Uint8Array, options?: { maxEntries?: number; maxBytes?: number; source?: string }): Promise<UserModel>;
}
export declare const DEFAULT_MAX_ENTRIES: number;
export declare const DEFAULT_MAX_USER_FILE_BYTES: number;
