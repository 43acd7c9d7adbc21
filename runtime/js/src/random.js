// A small seeded PRNG for generate(strategy: 'sample'): the same seed gives the same text on every
// JavaScript engine. (Python uses numpy's generator, so a seed does not give Python's text.)
// xoshiro128** seeded through splitmix32, with 53-bit doubles built from two outputs.

export function createRandom(seed) {
  if (seed === undefined || seed === null) seed = Math.floor(Math.random() * 2 ** 32) + Math.floor(Math.random() * 2 ** 21) * 2 ** 32;
  // Both halves of a seed up to 2^53 count: seeds that differ only above bit 32 give different streams.
  let mix = (seed >>> 0) ^ 0x9e3779b9;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const next32 = () => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix ^ high;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [next32(), next32(), next32(), next32()];
  if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1; // the all-zero state would repeat forever

  function nextUint32() {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  return {
    nextUint32,
    /** A double in [0, 1). */
    random: () => ((nextUint32() >>> 5) * 2 ** 26 + (nextUint32() >>> 6)) / 2 ** 53,
  };
}

function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}
