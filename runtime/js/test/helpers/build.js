// Tiny writers for test files: an ONNX ModelProto and a TFLite flatbuffer that carry given metadata,
// laid out by hand so the readers' tests need no model export.

/** Protobuf: a length-delimited field. */
export function pbBytes(field, payload) {
  return concat([varint((field << 3) | 2), varint(payload.length), payload]);
}
export function pbVarint(field, value) {
  return concat([varint(field << 3), varint(value)]);
}
export function varint(value) {
  const out = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Uint8Array.from(out);
}
export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const utf8 = (s) => new TextEncoder().encode(s);

/** A ModelProto: ir_version, a graph with one small initializer, and metadata_props entries [[key, value]]. */
export function buildOnnx(entries, { tensorExtra = new Uint8Array(0) } = {}) {
  const tensor = concat([pbBytes(8, utf8('w')), pbBytes(9, new Uint8Array(16)), tensorExtra]);
  const graph = concat([pbBytes(5, tensor), pbBytes(2, utf8('g'))]);
  const props = entries.map(([k, v]) => pbBytes(14, concat([pbBytes(1, utf8(k)), pbBytes(2, typeof v === 'string' ? utf8(v) : v)])));
  return concat([pbVarint(1, 8), pbBytes(7, graph), ...props]);
}

/** A TFLite flatbuffer whose Model has buffers [empty, ...values] and metadata [{name, buffer}]. */
export function buildTflite(entries) {
  const w = new Writer();
  w.u32(0); // root offset, patched below
  w.bytes(utf8('TFL3'));
  const modelVtable = w.pos;
  w.u16(4 + 2 * 7); w.u16(12); // fields 0..6; buffers (4) at +4, metadata (6) at +8
  for (let f = 0; f <= 6; f++) w.u16(f === 4 ? 4 : f === 6 ? 8 : 0);
  w.align();
  const model = w.pos;
  w.i32(model - modelVtable);
  const buffersRef = w.u32(0);
  const metadataRef = w.u32(0);
  w.patch(0, model);
  const buffers = [null, ...entries.map(([, v]) => (typeof v === 'string' ? utf8(v) : v))];
  // Vectors first: a uoffset points forward, so what they point at is written after them.
  const bufferSlots = w.vector(buffers.length);
  const metaSlots = w.vector(entries.length);
  w.patch(buffersRef, bufferSlots[0] - 4 - buffersRef);
  w.patch(metadataRef, metaSlots[0] - 4 - metadataRef);
  const bufferVtable = w.pos; w.u16(6); w.u16(8); w.u16(4); w.align();
  const metaVtable = w.pos; w.u16(8); w.u16(12); w.u16(4); w.u16(8); w.align();
  const bufferTables = buffers.map((value, i) => {
    const table = w.pos;
    w.patch(bufferSlots[i], table - bufferSlots[i]);
    w.i32(table - bufferVtable);
    return { ref: w.u32(0), value };
  });
  const metaTables = entries.map(([name], i) => {
    const table = w.pos;
    w.patch(metaSlots[i], table - metaSlots[i]);
    w.i32(table - metaVtable);
    const ref = w.u32(0);
    w.u32(i + 1);
    return { ref, name };
  });
  for (const m of metaTables) w.patch(m.ref, w.blob(utf8(m.name)) - m.ref);
  for (const b of bufferTables) if (b.value) w.patch(b.ref, w.blob(b.value) - b.ref);
  return w.finish();
}

class Writer {
  constructor() { this.out = []; }
  get pos() { return this.out.length; }
  u16(v) { this.out.push(v & 0xff, (v >> 8) & 0xff); }
  u32(v) { const at = this.pos; this.out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); return at; }
  i32(v) { return this.u32(v >>> 0); }
  bytes(b) { this.out.push(...b); }
  align() { while (this.out.length % 4) this.out.push(0); }
  patch(at, v) { for (let i = 0; i < 4; i++) this.out[at + i] = (v >>> (8 * i)) & 0xff; }
  // A vector of n uoffsets, to patch later; returns the slots' positions.
  vector(n) {
    this.align();
    this.u32(n);
    return Array.from({ length: n }, () => this.u32(0));
  }
  blob(b) { this.align(); const at = this.pos; this.u32(b.length); this.bytes(b); this.out.push(0); return at; }
  finish() { this.align(); return Uint8Array.from(this.out); }
}
