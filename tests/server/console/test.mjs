// End-to-end test of the web console (GET /) in headless Chromium, driven by
// playwright-core.  Run by tests/cli/console.sh, which starts the server and
// passes: QL_CONSOLE_URL (http://127.0.0.1:PORT), QL_CONSOLE_KEY (an API key),
// QL_CONSOLE_PROFILE (a fresh, empty user data directory) and
// QL_CONSOLE_ARTIFACTS (where the screenshots go).
//
// It types the key, pastes Chinese text with an emoji before the findings (so
// UTF-8 byte offsets, UTF-16 indices and code points all differ), scans, and
// checks the highlighted spans, the table, the redacted text for two
// operators, the summary, a dropped GB18030 file, both languages, the
// headers, that no raw value reaches the table and that nothing breaks the
// Content-Security-Policy.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const url = process.env.QL_CONSOLE_URL;
const key = process.env.QL_CONSOLE_KEY;
const profile = process.env.QL_CONSOLE_PROFILE;
const artifacts = process.env.QL_CONSOLE_ARTIFACTS;
if (!url || !key || !profile || !artifacts) {
  console.error('test.mjs: QL_CONSOLE_URL, QL_CONSOLE_KEY, QL_CONSOLE_PROFILE and QL_CONSOLE_ARTIFACTS are needed');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

let failures = 0;
function check(ok, what, detail) {
  if (ok) {
    console.log(`ok - ${what}`);
  } else {
    failures++;
    console.log(`FAIL - ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const TEXT = '🙂 客户王小明，身份证号 11010519491231002X，\n' +
             '手机 13800138000，邮箱 wang.xm@example.com，银行卡 6222021234567890128。';
const RAW = ['王小明', '11010519491231002X', '13800138000', 'wang.xm@example.com', '6222021234567890128'];
const SPANS = [
  { text: '王小明', type: 'person_name', category: 'pii.identity' },
  { text: '11010519491231002X', type: 'cn_resident_id', category: 'pii.identity' },
  { text: '13800138000', type: 'cn_mobile_phone', category: 'pii.contact' },
  { text: 'wang.xm@example.com', type: 'email', category: 'pii.contact' },
  { text: '6222021234567890128', type: 'bank_card', category: 'pii.financial' },
];
// #, type, category, severity (Chinese), confidence, line:column, masked.
const ROWS_ZH = [
  ['1', 'person_name', 'pii.identity', '中', '0.80', '1:5', '王**'],
  ['2', 'cn_resident_id', 'pii.identity', '高', '1.00', '1:14', '110105********002X'],
  ['3', 'cn_mobile_phone', 'pii.contact', '中', '0.95', '2:4', '138****8000'],
  ['4', 'email', 'pii.contact', '中', '0.90', '2:19', 'w***@example.com'],
  ['5', 'bank_card', 'pii.financial', '高', '0.95', '2:43', '6222***********0128'],
];
// "手机 13800138000，邮箱 li@example.cn\n" in GB18030.
const GB18030 = Buffer.from('cad6bbfa203133383030313338303030a3acd3cacfe4206c69406578616d706c652e636e0a', 'hex');

const started = Date.now();
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  locale: 'zh-CN',
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(10000);
const page = context.pages()[0] || await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
page.on('console', (m) => {
  // The wrong-key and fpe steps below expect their 401 and 400; a missing favicon is harmless.
  if (m.type() === 'error' && !/favicon/.test(m.location().url || '') && !/status of (401|400)/.test(m.text()))
    problems.push('console: ' + m.text());
});
const offsite = [];
page.on('request', (r) => { if (!r.url().startsWith(url)) offsite.push(r.url()); });

try {
  // --- the page itself, no key needed
  const resp = await page.goto(url + '/');
  check(resp.status() === 200, 'GET / answers 200 without a key', resp.status());
  const h = resp.headers();
  check(h['content-type'] === 'text/html; charset=utf-8', 'Content-Type is text/html; charset=utf-8', h['content-type']);
  const csp = h['content-security-policy'] || '';
  check(csp.includes("default-src 'self'") && csp.includes("script-src 'self' 'unsafe-inline'") &&
        csp.includes("style-src 'unsafe-inline'"), 'Content-Security-Policy is strict', csp);
  check(h['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options: nosniff');

  // --- default language from navigator.language (zh-CN)
  check(await page.getAttribute('html', 'lang') === 'zh-CN', 'zh-CN browser gets the Chinese page');
  check((await page.textContent('#scan')) === '检测', 'Scan button says 检测');
  check((await page.textContent('label[for=key]')) === 'API 密钥', 'key label in Chinese');

  // --- key: typed, kept in sessionStorage only
  await page.fill('#key', key);
  const stored = await page.evaluate(() => [sessionStorage.getItem('qinglang.apiKey'), localStorage.length,
                                            document.cookie]);
  check(same(stored, [key, 0, '']), 'the key is in sessionStorage only');

  // --- scan with the tag operator
  await page.fill('#text', TEXT);
  await page.selectOption('#operator', 'tag');
  await page.click('#scan');
  await page.waitForSelector('#results:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#findings tbody tr').length > 0);

  const marks = await page.$$eval('#highlighted mark', (ms) => ms.map((m) => ({
    text: m.textContent, type: m.dataset.type, category: m.dataset.category, title: m.title })));
  check(same(marks.map(({ text, type, category }) => ({ text, type, category })), SPANS),
        'highlighted spans: exact text and types', marks);
  check(marks.every((m) => m.title.startsWith(`${m.type} · ${m.category}`)), 'each highlight has a title with type and category',
        marks.map((m) => m.title));
  check((await page.textContent('#highlighted')) === TEXT, 'the highlighted pane shows the whole text unchanged');
  const legend = await page.$$eval('#legend li', (ls) => ls.map((l) => l.textContent));
  check(same(legend, ['pii.contact', 'pii.financial', 'pii.identity']), 'legend lists the categories', legend);

  const rows = await page.$$eval('#findings tbody tr', (trs) => trs.map((tr) =>
    Array.from(tr.cells, (c) => c.textContent)));
  check(same(rows, ROWS_ZH), 'findings table rows', rows);
  const apiFindings = await page.evaluate(async ([k, text]) => {
    const r = await fetch('/v1/scan', { method: 'POST', body: JSON.stringify({ text }),
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + k } });
    return (await r.json()).findings;
  }, [key, TEXT]);
  check(same(apiFindings.map((f) => [f.type, f.category, f.confidence.toFixed(2), `${f.line}:${f.column}`, f.masked]),
             rows.map((r) => [r[1], r[2], r[4], r[5], r[6]])), 'the table is what the API answered');
  const tableText = await page.textContent('#findings');
  check(RAW.every((v) => !tableText.includes(v)), 'no raw value in the table');

  const redactedTag = await page.textContent('#redacted');
  check(redactedTag.includes('[身份证号]') && redactedTag.includes('[手机号]') && redactedTag.includes('[银行卡号]'),
        'tag: the redacted pane has [身份证号], [手机号], [银行卡号]', redactedTag);
  check(RAW.every((v) => !redactedTag.includes(v)), 'tag: no raw value in the redacted pane');

  const summary = await page.textContent('#summary');
  check(summary.includes('共 5 项') && summary.includes('pii.identity 2') && summary.includes('pii.contact 2') &&
        summary.includes('pii.financial 1'), 'summary counts per category', summary);
  check(await page.getAttribute('#decision', 'data-decision') === 'review' &&
        (await page.textContent('#decision')) === '需复核', 'decision: review (high findings)');
  check((await page.textContent('.note')).includes('内容审核'), 'the UI says the decision stands in for moderation');

  // --- keyboard: from the operator select, Tab reaches Scan and Enter runs it (mask now)
  await page.selectOption('#operator', 'mask');
  await page.focus('#operator');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.id) === 'scan', 'Tab from the operator reaches Scan');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#redacted').textContent.includes('****'));
  const redactedMask = await page.textContent('#redacted');
  check(redactedMask.includes('110105********002X') && redactedMask.includes('138****8000') &&
        redactedMask.includes('6222***********0128'), 'mask: the redacted pane has the masks', redactedMask);
  check(RAW.slice(1).every((v) => !redactedMask.includes(v)), 'mask: no raw value in the redacted pane');
  check(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
        'no horizontal overflow at 1280 px');
  await page.screenshot({ path: join(artifacts, 'console-zh-1280.png'), fullPage: true });

  // --- switch to English
  await page.click('#lang-en');
  check(await page.getAttribute('html', 'lang') === 'en', 'html lang becomes en');
  check((await page.textContent('#scan')) === 'Scan', 'Scan button says Scan');
  check((await page.textContent('label[for=key]')) === 'API key', 'key label in English');
  check((await page.textContent('#findings thead')).includes('Masked value'), 'table headers in English');
  check((await page.textContent('#decision')) === 'review', 'decision in English');
  check((await page.textContent('#status')) === 'Scan complete.', 'status line in English');
  check((await page.textContent('.note')).includes('content moderation'), 'moderation note in English');
  check((await page.$$eval('#findings tbody tr', (trs) => trs.map((tr) => tr.cells[3].textContent)))
        .join(',') === 'medium,high,medium,medium,high', 'severities in English');
  check(await page.getAttribute('#lang-en', 'aria-pressed') === 'true', 'the language button shows it is pressed');
  await page.screenshot({ path: join(artifacts, 'console-en-1280.png'), fullPage: true });

  // --- a dropped GB18030 file: sent as base64 with encoding auto
  const transfer = await page.evaluateHandle((hex) => {
    const bytes = new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'gbk.txt', { type: 'text/plain' }));
    return dt;
  }, GB18030.toString('hex'));
  await page.dispatchEvent('#text', 'drop', { dataTransfer: transfer });
  await page.waitForFunction(() => document.querySelector('#file-status').textContent.includes('gb18030'));
  check((await page.inputValue('#text')) === '手机 13800138000，邮箱 li@example.cn\n', 'the GB18030 file is shown decoded');
  await page.click('#scan');
  await page.waitForFunction(() => document.querySelectorAll('#highlighted mark').length === 2);
  const gbMarks = await page.$$eval('#highlighted mark', (ms) => ms.map((m) => [m.textContent, m.dataset.type]));
  check(same(gbMarks, [['13800138000', 'cn_mobile_phone'], ['li@example.cn', 'email']]),
        'GB18030 file: highlights on the right characters', gbMarks);
  const gbRedacted = await page.textContent('#redacted');
  check(gbRedacted === '手机 138****8000，邮箱 l***@example.cn\n', 'GB18030 file: redacted text decoded', gbRedacted);
  check(await page.getAttribute('#decision', 'data-decision') === 'pass', 'decision: pass without high findings');

  // --- fpe for a tenant without a key file: the findings, and the redaction's 400 beside them
  await page.selectOption('#operator', 'fpe');
  await page.click('#scan');
  await page.waitForFunction(() => document.querySelector('#redact-error').textContent !== '');
  check((await page.textContent('#redact-error')).includes('no_key') &&
        (await page.$$('#highlighted mark')).length === 2, 'fpe without a tenant key: no_key shown, findings kept');
  await page.selectOption('#operator', 'mask');

  // --- a wrong key: the server's 401 is shown, nothing crashes
  await page.fill('#key', 'qlk_wrong');
  await page.click('#scan');
  await page.waitForFunction(() => document.querySelector('#status').className === 'error');
  check((await page.textContent('#status')).startsWith('Error: unauthorized'), 'a wrong key shows unauthorized',
        await page.textContent('#status'));
  await page.fill('#key', key);

  // --- 800 px wide
  await page.fill('#text', TEXT);
  await page.click('#scan');
  await page.waitForFunction(() => document.querySelectorAll('#highlighted mark').length === 5);
  await page.setViewportSize({ width: 800, height: 900 });
  check(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
        'no horizontal overflow at 800 px');
  await page.screenshot({ path: join(artifacts, 'console-en-800.png'), fullPage: true });

  check(problems.length === 0, 'no script errors or CSP violations', problems);
  check(offsite.length === 0, 'no request leaves the server', offsite);
} catch (e) {
  failures++;
  console.log('FAIL - ' + (e && e.stack ? e.stack : e));
  await page.screenshot({ path: join(artifacts, 'console-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context.close();
}
console.log(`test.mjs: ${failures ? failures + ' failed' : 'all passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);
