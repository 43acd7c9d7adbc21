// What a keyboard pays per keystroke in Node (JS twin of export/bench/keyboard.py): a session's suggest for the
// next word and for later letters of a word, and feeding the word, alone and with a user model that has learned
// the text's first half; typing words of its last tenth. p50 µs per kind of keystroke, as JSON.
//   node scripts/bench-keyboard.js SEQUENCE_MODEL.onnx TEXT_FILE [WORDS]
import { readFileSync } from 'node:fs';
import { Predictor, UserModel } from '../src/node.js';

const [model, textPath, wordsArg] = process.argv.slice(2);
if (!model || !textPath) {
  console.error('usage: node scripts/bench-keyboard.js SEQUENCE_MODEL.onnx TEXT_FILE [WORDS]');
  process.exit(2);
}
const text = readFileSync(textPath, 'utf8');
const predictor = await Predictor.load(model);
const known = new Set(predictor.words);
const typed = (text.slice(Math.floor((text.length * 9) / 10)).toLowerCase().match(/[a-z]+/g) ?? [])
  .filter((word) => known.has(word))
  .slice(0, Number(wordsArg ?? 400));
const user = new UserModel();
user.learn(text.slice(0, Math.floor(text.length / 2)));

const p50 = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return +(sorted[Math.floor((sorted.length - 1) / 2)] * 1000).toFixed(1);
};

async function keystrokes(words, withUser) {
  const session = await predictor.session(withUser ? { user } : {});
  const nextWord = [];
  const laterLetters = [];
  const feed = [];
  for (const word of words) {
    let t0 = performance.now();
    await session.suggest('', 3);
    nextWord.push(performance.now() - t0);
    for (let letters = 1; letters < word.length; letters++) {
      t0 = performance.now();
      await session.suggest(word.slice(0, letters), 3);
      if (letters > 1) laterLetters.push(performance.now() - t0);
    }
    t0 = performance.now();
    await session.feed(word);
    feed.push(performance.now() - t0);
  }
  return { next_word_us: p50(nextWord), completion_us: p50(laterLetters), feed_word_us: p50(feed) };
}

// Both paths warmed up first (the JIT compiles what runs often), then three rounds, alone and with the user model
// one after the other; each figure is the median of the three rounds' p50s (this machine is shared and noisy).
await keystrokes(typed.slice(0, 100), false);
await keystrokes(typed.slice(0, 100), true);
const rounds = { alone: [], with_user: [] };
for (let round = 0; round < 3; round++) {
  rounds.alone.push(await keystrokes(typed, false));
  rounds.with_user.push(await keystrokes(typed, true));
}
// The next-word bar right after the user commits a word the user model has never seen (made-up words): the
// learned words' index takes it in place (it used to be rebuilt). Last: it teaches the user model new words.
async function afterNewWord(n = 100) {
  const session = await predictor.session({ user });
  await session.feed('and the');
  const times = [];
  for (let i = 0; i < n; i++) {
    user.learn(`the zq${String(i).padStart(4, '0')} `);
    const t0 = performance.now();
    await session.suggest('', 3);
    times.push(performance.now() - t0);
  }
  return { p50: p50(times), max: +(Math.max(...times) * 1000).toFixed(1) };
}
const median = (runs) => Object.fromEntries(Object.keys(runs[0]).map((key) => [key, runs.map((run) => run[key]).sort((a, b) => a - b)[1]]));
console.log(JSON.stringify({
  model,
  typed_words: typed.length,
  user_model_entries: user.size,
  alone: median(rounds.alone),
  with_user: median(rounds.with_user),
  after_new_word_us: await afterNewWord(),
}));
