// Read the named metadata entries of an untrusted .tflite file, touching nothing else (a port of
// runtime/tflite_metadata.py). Generated flatbuffer accessors trust every offset; this walks only
// root -> metadata -> buffers and checks each offset against the file before reading it, so hostile
// bytes give a CorruptModelError, never a RangeError from DataView or a read of the wrong bytes.
import { TFLITE_MAX_METADATA_ENTRIES } from '../allowlist.js';
import { CorruptModelError, UnsafeModelError } from '../errors.js';
import { asBytes } from './onnx.js';

export const TFLITE_IDENTIFIER = 'TFL3';

export function checkEntries(length, limit, what) {
  if (length > limit) {
    throw new UnsafeModelError(`TFLite ${what} lists ${length.toLocaleString('en-US')} entries; nextword's files list at most ${limit.toLocaleString('en-US')}`);
  }
}

// Field numbers in the TFLite schema (schema.fbs); a field's vtable slot is 4 + 2 * number.
const MODEL_BUFFERS = 4;
const MODEL_METADATA = 6;
const METADATA_NAME = 0;
const METADATA_BUFFER = 1;
const BUFFER_DATA = 0;
const BUFFER_OFFSET = 1;
const BUFFER_SIZE = 2;

/** Map name -> Uint8Array of every Model.metadata entry. */
export function readTfliteMetadata(bytes, { maxValueBytes }) {
  const reader = new CheckedReader(asBytes(bytes));
  if (reader.size < 8 || !hasIdentifier(reader.data)) throw new CorruptModelError('not a TFLite model (file identifier is not TFL3)');
  const model = reader.indirect(0);
  if (!(model >= 8 && model < reader.size)) throw new CorruptModelError(`TFLite root table offset ${model} is outside the file`);
  const metadata = reader.tableVector(model, MODEL_METADATA, TFLITE_MAX_METADATA_ENTRIES, 'metadata');
  const entries = new Map();
  let total = 0;
  for (const entry of metadata) {
    const name = reader.string(entry, METADATA_NAME);
    if (entries.has(name)) throw new CorruptModelError(`duplicate metadata key ${JSON.stringify(name)} in TFLite model`);
    const index = reader.scalar(entry, METADATA_BUFFER, 4);
    const buffer = reader.tableAt(model, MODEL_BUFFERS, index);
    if (buffer === null) {
      const count = reader.vector(model, MODEL_BUFFERS, 4)[1];
      throw new CorruptModelError(`metadata ${JSON.stringify(name)} points at buffer ${index}, but the model has ${count}`);
    }
    const value = bufferBytes(reader, buffer, name, maxValueBytes);
    entries.set(name, value);
    total += value.length;
    // Honest files store each value once; entries sharing one big buffer would multiply memory use.
    if (total > reader.size) throw new UnsafeModelError('TFLite metadata values add up to more than the file holds');
  }
  return entries;
}

export function hasIdentifier(data) {
  return data.length >= 8 && String.fromCharCode(data[4], data[5], data[6], data[7]) === TFLITE_IDENTIFIER;
}

function bufferBytes(reader, buffer, name, maxValueBytes) {
  const offset = reader.scalar(buffer, BUFFER_OFFSET, 8);
  if (offset > 1) {
    // Over-2 GB layout: the data lies after the flatbuffer, addressed from the start of the file.
    const size = reader.scalar(buffer, BUFFER_SIZE, 8);
    checkValueSize(name, size, maxValueBytes);
    if (offset + size > reader.size) throw new CorruptModelError(`metadata ${JSON.stringify(name)} data lies outside the file`);
    return reader.data.slice(offset, offset + size);
  }
  const [start, length] = reader.vector(buffer, BUFFER_DATA, 1);
  checkValueSize(name, length, maxValueBytes);
  return reader.data.slice(start, start + length);
}

function checkValueSize(name, size, maxValueBytes) {
  if (size > maxValueBytes) throw new UnsafeModelError(`metadata ${JSON.stringify(name)} is ${size} bytes, over the ${maxValueBytes}-byte limit`);
}

/** Flatbuffer navigation where each read is first checked to lie inside the file. */
export class CheckedReader {
  constructor(data) {
    this.data = data;
    this.size = data.length;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  // Little-endian read of `width` bytes (1, 2, 4 or 8; 1 and 4 may be signed) (8-byte values become a Number: past 2^53 they are far
  // outside any file anyway, and every use compares them with the file size).
  read(pos, width, signed = false) {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + width > this.size) {
      throw new CorruptModelError(`TFLite model is truncated or corrupt (offset ${pos} outside the file)`);
    }
    if (width === 1) return signed ? this.view.getInt8(pos) : this.view.getUint8(pos);
    if (width === 2) return this.view.getUint16(pos, true);
    if (width === 4) return signed ? this.view.getInt32(pos, true) : this.view.getUint32(pos, true);
    return Number(this.view.getBigUint64(pos, true));
  }

  indirect(pos) {
    return pos + this.read(pos, 4);
  }

  /** Absolute position of a table field, or null when it is absent (default value). */
  field(table, number) {
    const vtable = table - this.read(table, 4, true);
    const vtableSize = this.read(vtable, 2);
    const tableSize = this.read(vtable + 2, 2);
    const slot = 4 + 2 * number;
    if (vtableSize < 4 || vtable + vtableSize > this.size || table + tableSize > this.size) {
      throw new CorruptModelError('TFLite model is corrupt (bad vtable)');
    }
    if (slot + 2 > vtableSize) return null;
    const relative = this.read(vtable + slot, 2);
    if (relative === 0) return null;
    if (relative >= tableSize) throw new CorruptModelError('TFLite model is corrupt (field outside its table)');
    return table + relative;
  }

  scalar(table, number, width, signed = false) {
    const pos = this.field(table, number);
    return pos === null ? 0 : this.read(pos, width, signed);
  }

  /** [start of elements, element count] of a vector field; [0, 0] when absent. */
  vector(table, number, elementSize) {
    const pos = this.field(table, number);
    if (pos === null) return [0, 0];
    const header = this.indirect(pos);
    const length = this.read(header, 4);
    const start = header + 4;
    if (start + length * elementSize > this.size) throw new CorruptModelError('TFLite model is truncated or corrupt (vector runs past the end)');
    return [start, length];
  }

  /** The tables of a vector-of-tables field, refused past `limit` before any is read (4-byte offsets that may all
   * name one table: a file can list millions). */
  tableVector(table, number, limit, what) {
    const [start, length] = this.vector(table, number, 4);
    checkEntries(length, limit, what);
    const out = [];
    for (let i = 0; i < length; i++) out.push(this.indirect(start + 4 * i));
    return out;
  }

  /** Entry `index` of a vector-of-tables field (null past its end), the others unread. */
  tableAt(table, number, index) {
    const [start, length] = this.vector(table, number, 4);
    return index < length ? this.indirect(start + 4 * index) : null;
  }

  string(table, number) {
    const [start, length] = this.vector(table, number, 1);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(this.data.subarray(start, start + length));
    } catch {
      throw new CorruptModelError('TFLite metadata name is not valid UTF-8');
    }
  }
}
