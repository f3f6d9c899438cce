// bench/mint/mint-bench.js LEXICON CORPUS [RUNS] — mint-filter 4.0.3 (npm),
// the baseline of bench/moderate.sh: the same word list and the same text,
// one message per line, mint.filter(line, {replace: false}), best of RUNS
// (default 3) wall-clock passes.  Prints key=value pairs like modbench.
'use strict';
const fs = require('fs');
const { Mint } = require('mint-filter');

const [lexPath, corpusPath, runsArg] = process.argv.slice(2);
if (!lexPath || !corpusPath) {
  console.error('usage: node mint-bench.js LEXICON CORPUS [RUNS]');
  process.exit(2);
}
const runs = Math.max(1, parseInt(runsArg || '3', 10));
const words = fs.readFileSync(lexPath, 'utf8').split('\n').filter((w) => w && !w.startsWith('#'));
const buf = fs.readFileSync(corpusPath);
const lines = buf.toString('utf8').split('\n');
let t0 = process.hrtime.bigint();
const mint = new Mint(words);
const compile = Number(process.hrtime.bigint() - t0) / 1e9;
let best = Infinity, hits = 0, flagged = 0;
for (let r = 0; r < runs; r++) {
  hits = 0;
  flagged = 0;
  t0 = process.hrtime.bigint();
  for (const line of lines) {
    const res = mint.filter(line, { replace: false });
    hits += res.words.length;
    if (res.words.length) flagged++;
  }
  const el = Number(process.hrtime.bigint() - t0) / 1e9;
  if (el < best) best = el;
}
console.log(`words=${words.length} compile_s=${compile.toFixed(3)} ` +
            `mb_s=${(buf.length / best / 1e6).toFixed(1)} hits=${hits} flagged=${flagged} ` +
            `messages=${lines.length}`);
