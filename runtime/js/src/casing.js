// Display casing (Python: runtime/casing.py): each suggested word shown the way people write it ("I",
// "London", "Monday"), though the legacy Tokenizer lowercases every word it learns. Training bundles a table
// of the forms that beat the lowercase one under nextword.casing (optional: without it words show as
// learned). A word is shown in its table form, its first letter capitalized at the start of a sentence or
// after capitalized typing. Python's upper and whitespace, not the engine's: the letters shown must match.
import { InputError } from './errors.js';
import { parseStrictJson } from './strict-json.js';
import { capitalizeFirst, pyRstrip } from './tokenizer/pystring.js';

export const SENTENCE_ENDS = '.!?'; // after one of these (or at the start of a text) the next word starts a sentence
export const MAX_FORM_LENGTH = 64; // code points; longer values are refused at load

/** Read a bundled table strictly: an object of vocabulary words (a Set) to forms that lower() back to them.
 *  Returns a Map. Refusals are InputErrors with Python's messages (the bundle makes them CorruptModelErrors). */
export function caseTableFromJson(text, words, lower) {
  const table = parseStrictJson(text, 'the casing table');
  if (table === null || typeof table !== 'object' || Array.isArray(table)) throw new InputError('the casing table is not a JSON object');
  const out = new Map();
  // Object.entries lists integer-like keys ("7") first, Python in file order: with two bad entries the
  // one named may differ, never whether the table is refused.
  for (const [word, form] of Object.entries(table)) {
    if (!words.has(word)) throw new InputError(`the casing table names ${quote(word)}, which is not in the vocabulary`);
    if (typeof form !== 'string' || [...form].length > MAX_FORM_LENGTH || lower(form) !== word) {
      throw new InputError(`the casing table's form for ${quote(word)} is not that word in other letters' case`);
    }
    out.set(word, form);
  }
  return out;
}

/** How word is shown: its form in table (a Map), capitalized when asked (Python's form[:1].upper() + form[1:]). */
export function display(word, table, { capitalize }) {
  const form = table.get(word) ?? word;
  return capitalize ? capitalizeFirst(form) : form;
}

/** Whether the next word starts a sentence: nothing written yet, or the text so far ends one. */
export function startsSentence(finished) {
  const stripped = pyRstrip(finished);
  return stripped === '' || SENTENCE_ENDS.includes(stripped.at(-1));
}

// Python's word[:40]!r, in this runtime's quoting (JSON, as every other message here).
const quote = (word) => JSON.stringify([...word].slice(0, 40).join(''));
