// The JS user-file reader against Python's verdicts, as a campaign: every file of a user-expected.json
// (test/make_user_expectations.py; NEXTWORD_USER_MUTANTS sets how many mutants) is read with UserModel.fromBytes
// and must be refused with Python's class or read and saved back to Python's bytes.
//   node scripts/check-user-files.js USER_EXPECTED_JSON
// Prints read / refused / disagreements / untyped, the slowest file and the peak RSS; exit 1 on any disagreement.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { NextwordError, UserModel } from '../src/index.js';

const [path] = process.argv.slice(2);
if (!path) {
  console.error('usage: node scripts/check-user-files.js USER_EXPECTED_JSON');
  process.exit(2);
}
const { files } = JSON.parse(readFileSync(path, 'utf8'));
const counts = { read: 0, refused: 0, disagree: 0, untyped: 0 };
let slowest = 0;
let peakRss = 0;
const started = performance.now();
for (const [i, file] of files.entries()) {
  const bytes = new Uint8Array(Buffer.from(file.b64, 'base64'));
  const t0 = performance.now();
  let verdict;
  try {
    const user = await UserModel.fromBytes(bytes, file.max_entries ? { maxEntries: file.max_entries } : {});
    const resaved = Buffer.from(await user.toBytes()).toString('base64');
    verdict = file.error === undefined && resaved === file.resaved ? 'read' : 'disagree';
  } catch (error) {
    if (!(error instanceof NextwordError)) verdict = 'untyped';
    else verdict = error.constructor.name === file.error ? 'refused' : 'disagree';
  }
  slowest = Math.max(slowest, performance.now() - t0);
  counts[verdict] += 1;
  if (verdict === 'disagree' || verdict === 'untyped') console.log(`file #${i}: ${verdict} (Python: ${file.error ?? 'read'})`);
  if (i % 500 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(`${files.length} files: ${counts.read} read, ${counts.refused} refused, ${counts.disagree} disagreements, ${counts.untyped} untyped; `
  + `slowest ${slowest.toFixed(1)} ms, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(counts.disagree || counts.untyped ? 1 : 0);
