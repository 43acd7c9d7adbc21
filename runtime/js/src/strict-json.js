// JSON as the bundle reads it (Python: runtime/strict_json.py): a key given twice in one object is an error,
// not "the last one wins", so a file cannot show a reviewer one value and a runtime another. JSON.parse
// already refuses NaN and Infinity.
import { InputError } from './errors.js';

/** JSON.parse(text), refusing duplicate keys; every failure is one InputError naming `what`. */
export function parseStrictJson(text, what) {
  return parseStrictJsonTyped(text, what).value;
}

/** parseStrictJson, plus isFloat(path): whether the number at path (keys and array indexes from the root) was
 *  written as a float (16.0, 1.6e1, 5e2). JSON.parse reads those as the integer 16 or 500; Python's json reads a
 *  float, which no integer field takes, so neither may this runtime. */
export function parseStrictJsonTyped(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${what} is malformed: ${error.message}`);
  }
  const { duplicate, floats, tooDeep } = scan(text);
  if (tooDeep) throw new InputError(`${what} is nested too deeply`);
  if (duplicate !== null) throw new InputError(`${what}: the key ${JSON.stringify(duplicate.slice(0, 40))} appears twice`);
  return { value, isFloat: (path) => floats.size > 0 && floats.has(JSON.stringify(path)) };
}

// Python's json stops at its recursion limit (a 1,000-level nest: "nested too deeply", a CorruptModelError in a
// bundle); JSON.parse goes on. Refused past this depth too, so a file is not valid in one runtime only (a bundle
// nests 2 levels; between 900 and Python's ~990 the runtimes may still name different classes).
export const MAX_JSON_DEPTH = 900;

// One pass over text that JSON.parse accepted, tracking where it is (a frame per open object or array): a Set of
// keys per object, to find a key given twice (compared decoded, as Python's object_pairs_hook sees them: "a" and
// "\u0061" are the same key), and the paths of the numbers written with a fraction or an exponent.
function scan(text) {
  const open = []; // {keys: Set, key} per object, {keys: null, index} per array
  const floats = new Set();
  let expectKey = false;
  const path = () => open.map((frame) => (frame.keys ? frame.key : frame.index));
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      let escaped = false;
      while (text[end] !== '"') {
        escaped ||= text[end] === '\\';
        end += text[end] === '\\' ? 2 : 1;
      }
      if (expectKey) {
        const frame = open[open.length - 1];
        const key = escaped ? JSON.parse(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (frame.keys.has(key)) return { duplicate: key, floats, tooDeep: false };
        frame.keys.add(key);
        frame.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      if (open.push({ keys: new Set(), key: null }) > MAX_JSON_DEPTH) return { duplicate: null, floats, tooDeep: true };
      expectKey = true;
    } else if (ch === '[') {
      if (open.push({ keys: null, index: 0 }) > MAX_JSON_DEPTH) return { duplicate: null, floats, tooDeep: true };
    } else if (ch === '}' || ch === ']') {
      open.pop();
    } else if (ch === ',') {
      const frame = open[open.length - 1];
      if (frame.keys) expectKey = true;
      else frame.index += 1;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      let end = i + 1;
      let float = false;
      while (end < text.length && /[0-9.eE+-]/.test(text[end])) {
        float ||= text[end] === '.' || text[end] === 'e' || text[end] === 'E';
        end += 1;
      }
      if (float) floats.add(JSON.stringify(path()));
      i = end - 1;
    }
  }
  return { duplicate: null, floats, tooDeep: false };
}
