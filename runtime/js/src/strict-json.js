// JSON as the bundle reads it (Python: runtime/strict_json.py): a key given twice in one object is an error,
// not "the last one wins", so a file cannot show a reviewer one value and a runtime another. JSON.parse
// already refuses NaN and Infinity.
import { InputError } from './errors.js';

/** JSON.parse(text), refusing duplicate keys; every failure is one InputError naming `what`. */
export function parseStrictJson(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${what} is malformed: ${error.message}`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) throw new InputError(`${what}: the key ${JSON.stringify(duplicate.slice(0, 40))} appears twice`);
  return value;
}

// One pass over text that JSON.parse accepted: a Set of keys per open object (null per open array). Keys are
// compared decoded, as Python's object_pairs_hook sees them ("a" and "\u0061" are the same key).
function firstDuplicateKey(text) {
  const open = [];
  let expectKey = false;
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
        const keys = open[open.length - 1];
        const key = escaped ? JSON.parse(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      open.push(null);
    } else if (ch === '}' || ch === ']') {
      open.pop();
    } else if (ch === ',') {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
  return null;
}
