// Choosing the next word during generation, as Python's Predictor.generate does: greedy is the first
// largest probability; sampling sharpens or flattens by temperature and may keep only the top k.

/** Index of the first largest value. */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Draw an index from probs at temperature, among the topK largest only when given; `exclude` (an index
 *  or -1) is never drawn: Python gives it probability 0, floored to 1e-30, and we make that exactly 0. */
export function sample(probs, temperature, topK, random, exclude = -1) {
  const logits = Float64Array.from(probs, (p) => Math.log(Math.max(p, 1e-30)) / temperature);
  if (exclude >= 0 && logits.length > 1) logits[exclude] = -Infinity;
  if (topK !== null && topK < logits.length) {
    // Python keeps every logit >= the k-th largest (ties at the cutoff included).
    const cutoff = Float64Array.from(logits).sort()[logits.length - topK];
    for (let i = 0; i < logits.length; i++) if (logits[i] < cutoff) logits[i] = -Infinity;
  }
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  let total = 0;
  const weights = logits.map((l) => {
    const w = Math.exp(l - max);
    total += w;
    return w;
  });
  let u = random() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0 && weights[i] > 0) return i;
  }
  // Rounding left u a hair above 0: the last index with any weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return 0;
}
