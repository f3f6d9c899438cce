// Starts `qinglang serve` with a gateway section in a temporary directory:
// API keys for the tenants, an upstream key file, the config pointing at
// the stub.  Used by e2e.mjs, injection.mjs and bench.mjs.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const UPSTREAM_KEY = 'sk-upstream-secret-0123456789';

export async function startGateway({ qinglang, stubPort, gatewayYaml = '', serviceYaml = '', tenants = ['acme', 'strict', 'impatient', 'ops'], evidence = false }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-gateway-'));
  const keys = {};
  for (const t of tenants)
    keys[t] = execFileSync(qinglang, ['keys', 'add', t, '--keys', path.join(dir, 'keys')]).toString().trim();
  fs.writeFileSync(path.join(dir, 'upstream.key'), UPSTREAM_KEY + '\n', { mode: 0o600 });
  let ev = '';
  if (evidence) {
    execFileSync(qinglang, ['evidence', 'keygen', path.join(dir, 'sign.key')], { stdio: 'ignore' });
    ev = 'evidence:\n  log: evidence.db\n  key_file: sign.key\n';
  }
  const config = `threads: 2
timeout: 10
keys: keys
admins: [ops]
access_log: access.log
${ev}${serviceYaml}gateway:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:${stubPort}/v1
  upstream_key_file: upstream.key
  timeout: 20
${gatewayYaml}`;
  fs.writeFileSync(path.join(dir, 'config.yaml'), config);
  const child = spawn(qinglang, ['serve', '--config', path.join(dir, 'config.yaml'), '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ports = await new Promise((resolve, reject) => {
    // Generous: under ASan on a busy 2-core machine compiling the
    // injection rules and the lexicons took over 30 s once.  Not a
    // performance check (make bench-gateway measures).
    const timer = setTimeout(() => reject(new Error('the server did not start:\n' + stderr)), 120000);
    child.stderr.on('data', (d) => {
      stderr += d.toString();
      const api = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(stderr);
      const gw = /^gateway listening on 127\.0\.0\.1:(\d+)$/m.exec(stderr);
      if (api && gw) {
        clearTimeout(timer);
        resolve({ api: Number(api[1]), gateway: Number(gw[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}):\n` + stderr)));
  });
  return {
    dir,
    keys,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    stderr: () => stderr,
    accessLog: () => fs.readFileSync(path.join(dir, 'access.log'), 'utf8'),
    stop: () => new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
      child.kill('SIGTERM');
    }),
  };
}
