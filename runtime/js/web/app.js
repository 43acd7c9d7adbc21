// The demo page: suggestions for the text as it is typed, from a model running in this page.
// The browser test reads the page through its data attributes: #suggestions[data-text] is the text the
// shown chips were computed for, each chip has data-word and data-probability, body[data-ready] is set
// once a model is loaded (or data-error once it failed), body[data-learned] counts the words the user model knows.
// The page learns the user's words (a UserModel kept in this browser's localStorage; ?learn=0 turns it off).
import { CorruptUserModelError, Predictor, splitPartial, UserModel } from '../src/web.js';

const LITERT_WASM = '/engines/@litertjs/core/wasm/';
const SUGGESTIONS = 5;

const $ = (id) => document.getElementById(id);
const text = $('text');
const chips = $('suggestions');
const times = []; // ms per prediction, for the running median
let predictor = null;
let busy = false; // one prediction at a time: engines run one request per session
let wanted = null; // the text to predict for once the running prediction finishes
const USER_KEY = 'nextword-user'; // localStorage: the user model's file, base64
let user = null; // the UserModel, or null with ?learn=0
let learnedText = ''; // the finished text already learned: only what is appended to it is learned
let saveTimer = null;

async function main() {
  const params = new URLSearchParams(location.search);
  const models = await (await fetch('/models/')).json();
  const chosen = params.get('model') ?? (models.includes('model.onnx') ? 'model.onnx' : models[0]);
  for (const name of models) $('model').add(new Option(`${name}  (${engineOf(name)})`, name, false, name === chosen));
  $('model').addEventListener('change', () => { location.search = `?model=${encodeURIComponent($('model').value)}`; });
  text.addEventListener('input', () => suggest());
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Tab' && !event.shiftKey && chips.firstChild) {
      event.preventDefault();
      accept(chips.firstChild.dataset.word);
    }
  });
  chips.addEventListener('click', (event) => {
    const chip = event.target.closest('.chip');
    if (chip) accept(chip.dataset.word);
  });
  $('continue').addEventListener('click', () => write(8));
  if (params.get('learn') !== '0') user = await loadUser();
  $('forget').hidden = !user;
  $('forget').addEventListener('click', () => {
    user.clear();
    learnedText = splitPartial(text.value, predictor.tokenizer)[0];
    localStorage.removeItem(USER_KEY);
    suggest();
  });
  await load(chosen);
}

/** The user model this browser saved, or a new one; a damaged one is kept aside (nothing is lost) and reported. */
async function loadUser() {
  const saved = localStorage.getItem(USER_KEY);
  if (!saved) return new UserModel();
  try {
    return await UserModel.fromBytes(Uint8Array.from(atob(saved), (c) => c.charCodeAt(0)));
  } catch (error) {
    if (!(error instanceof CorruptUserModelError)) {
      console.warn(`the saved user model cannot be read here, so this page starts a new one: ${error.message}`);
      return new UserModel();
    }
    localStorage.setItem(`${USER_KEY}.damaged`, saved);
    console.warn(`the saved user model was damaged and is kept as ${USER_KEY}.damaged: ${error.message}`);
    return new UserModel();
  }
}

/** Learn what was finished since the last call (a word is committed once a separator follows it); an edit
 *  anywhere but the end is not learned again. Saved at most every 2 s. */
function learnFrom(value) {
  const [finished] = splitPartial(value, predictor.tokenizer);
  if (finished.startsWith(learnedText) && finished.length > learnedText.length) {
    user.learn(finished.slice(learnedText.length));
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveUser, 2000);
  }
  learnedText = finished;
}

async function saveUser() {
  let bytes;
  try {
    bytes = await user.toBytes();
  } catch (error) { // no crypto.subtle: a page served over plain http from another host
    console.warn(`the words learned cannot be saved in this browser: ${error.message}`);
    return;
  }
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  localStorage.setItem(USER_KEY, btoa(binary));
}

function engineOf(name) {
  return name.endsWith('.tflite') ? 'LiteRT.js' : 'onnxruntime-web';
}

async function load(name) {
  const status = $('status');
  const start = performance.now();
  try {
    if (name.endsWith('.onnx')) { // imported only for .onnx files: a .tflite page never downloads it
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = 1; // a 2-step LSTM gains nothing from more, and each thread is a worker
      ort.env.wasm.wasmPaths = '/engines/onnxruntime-web/';
    }
    predictor = await Predictor.load(`/models/${name}`, { litertWasmPath: LITERT_WASM, source: name });
    // The first call prepares the engine, and the first completion sorts the vocabulary into the prefix
    // index: count both as loading.
    await predictor.suggest('t', SUGGESTIONS);
  } catch (error) {
    const hint = name.endsWith('.tflite') && !name.includes('batch1')
      ? ' (LiteRT.js needs a fixed batch: export with --tflite-batch1 and pick model.batch1.tflite)' : '';
    status.textContent = `${name}: ${error.message}${hint}`;
    status.classList.add('error');
    document.body.dataset.error = error.message;
    throw error;
  }
  const loadMs = performance.now() - start;
  const words = (predictor.vocabSize - 1).toLocaleString('en');
  status.textContent = `${engineOf(name)} · ${words} words · loaded in ${loadMs.toFixed(0)} ms`;
  document.body.dataset.loadMs = loadMs.toFixed(1);
  window.nextwordDemo = { predictor }; // for scripts/bench-browser.js, which times it in this page
  text.disabled = false;
  $('continue').disabled = false;
  text.value = new URLSearchParams(location.search).get('text') ?? '';
  learnedText = splitPartial(text.value, predictor.tokenizer)[0]; // a text given in the URL is not the user's
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
  await suggest();
  document.body.dataset.ready = 'true';
}

/** The library's suggestion bar (predictor.suggest): mid-word ("the val") the likeliest words completing the
 *  word being typed, between words the likeliest next words; never the OOV token, each in display casing.
 *  Letters that start no word show nothing (what was typed stays as it is). */
async function predict(value) {
  const [, partial] = splitPartial(value, predictor.tokenizer); // what accepting a completion replaces
  if (user) learnFrom(value);
  const items = await predictor.suggest(value, SUGGESTIONS, { user });
  if (user) document.body.dataset.learned = String(user.words.size);
  return { mode: partial ? 'complete' : 'next', partial, items };
}

async function suggest() {
  wanted = text.value;
  if (busy || !predictor) return;
  busy = true;
  try {
    while (wanted !== null) {
      const value = wanted;
      wanted = null;
      const start = performance.now();
      const result = await predict(value);
      record(performance.now() - start);
      render(value, result);
    }
  } finally {
    busy = false;
  }
}

function render(value, { mode, partial, items }) {
  chips.replaceChildren(...items.map(({ word, probability }, i) => {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = i === 0 ? 'chip first' : 'chip';
    chip.dataset.word = word;
    chip.dataset.probability = String(probability);
    chip.innerHTML = '<span class="word"></span><span class="p"></span><span class="bar"></span>';
    chip.querySelector('.word').textContent = word;
    chip.querySelector('.p').textContent = `${(probability * 100).toFixed(probability < 0.1 ? 1 : 0)}%`;
    chip.querySelector('.bar').style.width = `${Math.max(4, Math.round(probability * 100))}%`;
    if (i === 0) chip.insertAdjacentHTML('beforeend', '<kbd>Tab</kbd>');
    return chip;
  }));
  chips.dataset.mode = mode;
  chips.dataset.partial = partial ?? '';
  chips.dataset.text = value; // last: the test waits for this to equal what it typed
}

function record(ms) {
  times.push(ms);
  if (times.length > 200) times.shift();
  const median = [...times].sort((a, b) => a - b)[Math.floor((times.length - 1) / 2)];
  const learned = user ? ` · learned ${user.words.size} words` : '';
  $('latency').textContent = `this suggestion ${ms.toFixed(2)} ms · median ${median.toFixed(2)} ms (${times.length} calls, in this page)${learned}`;
}

/** Put word into the text: replacing the partial word being completed, else after a space. */
function accept(word) {
  const partial = chips.dataset.mode === 'complete' ? chips.dataset.partial : '';
  let value = text.value.slice(0, text.value.length - partial.length);
  if (value && !/\s$/.test(value)) value += ' ';
  text.value = `${value}${word} `;
  text.focus();
  suggest();
}

/** "continue": sample n words and type them in one by one. */
async function write(n) {
  $('continue').disabled = true;
  try {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const words = await predictor.generate(text.value, n, { strategy: 'sample', temperature: 0.8, topK: 40, seed });
    for (const word of words.split(' ').filter(Boolean)) {
      const value = text.value;
      text.value = `${value}${value && !/\s$/.test(value) ? ' ' : ''}${word} `;
      await suggest();
      await new Promise((resolve) => setTimeout(resolve, 90));
    }
  } finally {
    $('continue').disabled = false;
  }
}

main().catch((error) => {
  console.error(error);
  if (!document.body.dataset.error) document.body.dataset.error = error.message;
});
