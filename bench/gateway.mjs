// The gateway's overhead (docs/gateway.md, "Overhead"): the same requests
// straight to a stub upstream that answers at once, and through the
// gateway to it, interleaved one by one on keep-alive connections.
//
//   added latency   p50/p99 of (via gateway) and (direct), 1 KB and 32 KB
//                   prompts with personal data in them, non-streaming, the
//                   stub echoing the prompt (so the answer is as large and is
//                   restored and checked too); and the gateway's own measure
//                   of the time spent in qinglang (access log, added_ms)
//   TTFT            time to the first content byte of a stream whose first
//                   event the stub sends at once (the rest 20 ms later)
//
//   QINGLANG=build/qinglang node bench/gateway.mjs [--quick]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../tests/gateway/harness.mjs';
import { person } from '../tests/gateway/ids.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const qinglang = process.env.QINGLANG;
if (!qinglang) throw new Error('set QINGLANG');
const quick = process.argv.includes('--quick');

const stubProc = spawn(process.execPath, [path.join(here, '../tests/gateway/stub-main.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const stubPort = await new Promise((resolve) => {
  let out = '';
  stubProc.stdout.on('data', (d) => {
    out += d;
    const m = /stub listening on (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});
const gw = await startGateway({ qinglang, stubPort, tenants: ['acme'], gatewayYaml: '' });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(url, headers, body, { stream = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        if (stream && first === null && /"content":"[^"]/.test(text)) first = process.hrtime.bigint();
      });
      res.on('end', () => {
        const t1 = process.hrtime.bigint();
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        resolve({ total: Number(t1 - t0) / 1e6, first: first === null ? null : Number(first - t0) / 1e6, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A prompt of `bytes` bytes: a customer record (name, phone, ID: three
// values) in every `every` bytes, ordinary text around it.  every = 1024
// is a support ticket; every = 0 puts a record in each paragraph (dense:
// 13 values a kilobyte, the engine's worst case, about 4 us a finding).
function prompt(bytes, every = 1024) {
  const p = person(3);
  const record = `客户${p.name}来电咨询账单问题。姓名：${p.name}，手机 ${p.phone}，身份证 ${p.id}。`;
  const plain = 'The customer says the last invoice was charged twice and asks for a refund to the original card. ' +
    '请根据以上信息起草一封礼貌的回复邮件，说明退款流程和预计到账时间。';
  let s = '';
  let next = 0;
  for (;;) {
    const piece = (every === 0 || Buffer.byteLength(s) >= next) ? record + plain : plain;
    if (Buffer.byteLength(s + piece) > bytes) break;
    if (piece.startsWith('客户')) next += every;
    s += piece;
  }
  while (Buffer.byteLength(s) < bytes) s += '。';
  return s;
}

function pct(values, q) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
}

const direct = `http://127.0.0.1:${stubPort}/v1/chat/completions`;
const via = `${gw.gatewayUrl}/v1/chat/completions`;
const auth = { Authorization: `Bearer ${gw.keys.acme}` };
const results = [];

function addedFromLog(since) {
  const lines = gw.accessLog().split('\n').slice(since).filter((l) => l.includes('"gateway"'));
  return lines.map((l) => JSON.parse(l).gateway.added_ms);
}

for (const [label, bytes, every, n] of [['1 KB', 1024, 1024, quick ? 300 : 2000], ['32 KB', 32768, 1024, quick ? 100 : 1000],
  ['32 KB dense', 32768, 0, quick ? 100 : 500]]) {
  const body = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: prompt(bytes, every) }] });
  for (let i = 0; i < 100; i++) {
    await request(direct, {}, body);
    await request(via, auth, body);
  }
  const logStart = gw.accessLog().split('\n').length - 1;
  const d = [], g = [];
  for (let i = 0; i < n; i++) {
    d.push((await request(direct, {}, body)).total);
    g.push((await request(via, auth, body)).total);
  }
  const added = addedFromLog(logStart);
  results.push({ what: `non-streaming, ${label} prompt`, n, direct: [pct(d, 0.5), pct(d, 0.99)], via: [pct(g, 0.5), pct(g, 0.99)], own: [pct(added, 0.5), pct(added, 0.99)] });
}

{
  const body = JSON.stringify({ model: 'ttft', stream: true, messages: [{ role: 'user', content: prompt(1024) }] });
  const n = quick ? 100 : 300;
  for (let i = 0; i < 30; i++) {
    await request(direct, {}, body, { stream: true });
    await request(via, auth, body, { stream: true });
  }
  const d = [], g = [];
  for (let i = 0; i < n; i++) {
    d.push((await request(direct, {}, body, { stream: true })).first);
    g.push((await request(via, auth, body, { stream: true })).first);
  }
  results.push({ what: 'stream, time to first content byte, 1 KB prompt', n, direct: [pct(d, 0.5), pct(d, 0.99)], via: [pct(g, 0.5), pct(g, 0.99)] });
}

const f = (x) => x.toFixed(3);
console.log('| measurement | n | direct p50 / p99 ms | via gateway p50 / p99 ms | added p50 / p99 ms | in qinglang p50 / p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const own = r.own ? `${f(r.own[0])} / ${f(r.own[1])}` : '-';
  console.log(`| ${r.what} | ${r.n} | ${f(r.direct[0])} / ${f(r.direct[1])} | ${f(r.via[0])} / ${f(r.via[1])} | ${f(r.via[0] - r.direct[0])} / ${f(r.via[1] - r.direct[1])} | ${own} |`);
}

agent.destroy();
await gw.stop();
stubProc.kill();
fs.rmSync(gw.dir, { recursive: true, force: true });
