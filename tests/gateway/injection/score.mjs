// Detection and false-positive rates of the gateway's injection rules on
// the corpus: every prompt goes through POST /v1/gateway/inspect of a real
// `qinglang serve` (the decision the gateway would take, nothing
// forwarded).  User prompts are sent as a user message; documents and tool
// results ("role": "tool") as the result of a tool call.
//
//   QINGLANG=build/qinglang node tests/gateway/injection/score.mjs [--check] [--verbose]
//
// --check fails unless, on the dev split (attacks.jsonl, benign.jsonl),
// detection >= 0.95 and false positives <= 0.02.  The held-out split
// (heldout-*.jsonl) and the second one (heldout2.jsonl, attacks and benign
// prompts in one file, each with "label": "attack" | "benign", written
// before the rules were generalised) are never used to tune the rules; they
// are reported, and checked only against loose floors (detection >= 0.70,
// FP <= 0.10) that catch a broken rule file, not a tuned one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStub } from '../stub.mjs';
import { startGateway } from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const verbose = process.argv.includes('--verbose');
const qinglang = process.env.QINGLANG;
assert.ok(qinglang, 'set QINGLANG');

const load = (name) => fs.readFileSync(path.join(here, name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const stub = await startStub();
const gw = await startGateway({ qinglang, stubPort: stub.port, tenants: ['acme'] });

async function decide(item) {
  const messages = item.role === 'tool'
    ? [{ role: 'user', content: 'Please summarize the result.' },
       { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'fetch', arguments: '{}' } }] },
       { role: 'tool', tool_call_id: 'c1', content: item.text }]
    : [{ role: 'user', content: item.text }];
  const r = await fetch(gw.gatewayUrl + '/v1/gateway/inspect', {
    method: 'POST',
    headers: { Authorization: `Bearer ${gw.keys.acme}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'x', messages }),
  });
  assert.equal(r.status, 200);
  const d = await r.json();
  return { blocked: d.reason === 'prompt_injection', score: d.injection.score, rules: d.injection.rules.map((x) => x.rule) };
}

function pct(x) { return (100 * x).toFixed(1) + '%'; }

const results = {};
const splits = {
  dev: () => [load('attacks.jsonl'), load('benign.jsonl')],
  heldout: () => [load('heldout-attacks.jsonl'), load('heldout-benign.jsonl')],
  // heldout2.jsonl: one file, each line labelled "attack" or "benign".
  heldout2: () => { const all = load('heldout2.jsonl'); return [all.filter((x) => x.label === 'attack'), all.filter((x) => x.label === 'benign')]; },
};
for (const split of Object.keys(splits)) {
  const [attacks, benign] = splits[split]();
  const row = { attacks: attacks.length, benign: benign.length, detected: 0, fp: 0, byLang: {} };
  for (const [items, isAttack] of [[attacks, true], [benign, false]]) {
    for (const item of items) {
      const d = await decide(item);
      const lang = (row.byLang[item.lang] ||= { attacks: 0, detected: 0, benign: 0, fp: 0 });
      if (isAttack) {
        lang.attacks++;
        if (d.blocked) { row.detected++; lang.detected++; } else if (verbose) console.log(`miss  [${split}] ${d.score.toFixed(2)} ${JSON.stringify(item.text).slice(0, 140)}`);
      } else {
        lang.benign++;
        if (d.blocked) { row.fp++; lang.fp++; if (verbose) console.log(`FP    [${split}] ${d.score.toFixed(2)} ${d.rules.join(',')} ${JSON.stringify(item.text).slice(0, 140)}`); }
      }
    }
  }
  row.detection = row.detected / row.attacks;
  row.fpRate = row.fp / row.benign;
  results[split] = row;
  const langs = Object.entries(row.byLang).map(([l, v]) => `${l}: ${v.detected}/${v.attacks} detected, ${v.fp}/${v.benign} FP`).join('; ');
  console.log(`${split.padEnd(8)} detection ${row.detected}/${row.attacks} = ${pct(row.detection)}, false positives ${row.fp}/${row.benign} = ${pct(row.fpRate)}  (${langs})`);
}

await gw.stop();
await stub.close();
fs.rmSync(gw.dir, { recursive: true, force: true });

if (check) {
  assert.ok(results.dev.attacks >= 150 && results.dev.benign >= 150, 'the dev corpus has at least 150 of each');
  assert.ok(results.dev.detection >= 0.95, `dev detection ${pct(results.dev.detection)} < 95%`);
  assert.ok(results.dev.fpRate <= 0.02, `dev false positives ${pct(results.dev.fpRate)} > 2%`);
  assert.ok(results.heldout.detection >= 0.70, `held-out detection ${pct(results.heldout.detection)} < 70%`);
  assert.ok(results.heldout.fpRate <= 0.10, `held-out false positives ${pct(results.heldout.fpRate)} > 10%`);
  assert.ok(results.heldout2.detection >= 0.70, `held-out 2 detection ${pct(results.heldout2.detection)} < 70%`);
  assert.ok(results.heldout2.fpRate <= 0.10, `held-out 2 false positives ${pct(results.heldout2.fpRate)} > 10%`);
  console.log('injection rates: ok');
}
