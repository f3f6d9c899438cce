#!/usr/bin/env python3
"""Checks a running `qinglang serve` over real HTTP (tests/cli/server.sh
starts it).  Arguments: the test directory (config, keys, logs), the port,
the server's pid.  Exits 1 naming every failed check."""
import base64
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DIR, PORT, PID = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BASE = "http://127.0.0.1:%d" % PORT
KEYS = {n: open(os.path.join(DIR, n + ".apikey")).read().strip()
        for n in ("acme", "beta", "slow", "ops", "gone")}
failures = []

TEXT = "客户 电话 13800138000，身份证 11010519491231002X，工单 TKT-123456"
EXPECTED = [
    {"type": "cn_mobile_phone", "category": "pii.contact", "severity": "medium",
     "confidence": 0.95, "start": 14, "end": 25, "line": 1, "column": 7,
     "rule": "builtin.cn_mobile_phone", "masked": "138****8000", "attributes": {}},
    {"type": "cn_resident_id", "category": "pii.identity", "severity": "high",
     "confidence": 1.0, "start": 38, "end": 56, "line": 1, "column": 23,
     "rule": "builtin.cn_resident_id", "masked": "110105********002X",
     "attributes": {"birth_date": "1949-12-31", "sex": "female", "minor": False}},
    {"type": "ticket_no", "category": "custom", "severity": "low", "confidence": 0.8,
     "start": 66, "end": 76, "line": 1, "column": 45, "rule": "global.ticket",
     "masked": "TK*-****56", "attributes": {}},
]
SECRETS = ["13800138000", "11010519491231002X", "TKT-123456", "BETA-PRJ-4711"] + list(KEYS.values())


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def call(method, path, body=None, key="acme", ctype="application/json", raw=None, timeout=30):
    data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if key:
        req.add_header("Authorization", "Bearer " + KEYS.get(key, key))
    if ctype and data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def jcall(*a, **kw):
    st, h, b = call(*a, **kw)
    try:
        return st, h, json.loads(b)
    except ValueError:
        return st, h, b


def subset(expected, actual):
    return all(actual.get(k) == v for k, v in expected.items())


def metrics():
    st, _, b = call("GET", "/metrics", key="ops")
    check(st == 200, "metrics answers 200 to the admin")
    out = {}
    for line in b.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def error_code(st, b):
    return b["error"]["code"] if isinstance(b, dict) and "error" in b else None


# ---------------------------------------------------------------- basics
st, _, b = call("GET", "/healthz", key=None)
check(st == 200 and b == b"ok\n", "healthz 200 ok")
st, _, b = call("GET", "/readyz", key=None)
check(st == 200, "readyz 200")

st, _, b = jcall("POST", "/v1/scan", {"text": TEXT})
check(st == 200, "scan 200")
f = b.get("findings", []) if isinstance(b, dict) else []
check(f == EXPECTED,
      "scan: exact findings, got %r" % f)
check(all(set(a) >= {"type", "category", "severity", "confidence", "start", "end", "line",
                      "column", "rule", "masked", "attributes"} for a in f), "scan: every field")

# The same findings as the command's JSONL.
cli = subprocess.run([os.environ["QINGLANG"], "scan", "--format", "jsonl",
                      "--rules", os.path.join(DIR, "global.yaml"), "-"],
                     input=TEXT.encode(), capture_output=True)
cli_f = [json.loads(l) for l in cli.stdout.decode().splitlines()]
for c in cli_f:
    c.pop("path", None)
check(cli_f == f, "scan: same findings as `qinglang scan --format jsonl`: %r" % cli_f)

gb = TEXT.encode("gb18030")
st, _, b = jcall("POST", "/v1/scan", {"base64": base64.b64encode(gb).decode(), "encoding": "gb18030"})
check(st == 200 and [x["type"] for x in b["findings"]] == ["cn_mobile_phone", "cn_resident_id", "ticket_no"]
      and b["findings"][0]["start"] == TEXT[:TEXT.index("138")].encode("gb18030").__len__(),
      "scan base64 gb18030: findings with GB18030 offsets")

st, _, b = jcall("POST", "/v1/redact", {"text": TEXT, "operator": "tag", "types": {"cn_mobile_phone": "fpe"}})
check(st == 200 and "[身份证号]" in b.get("text", "") and "13800138000" not in b["text"]
      and re.search(r"电话 138\d{8}，", b["text"]) and len(b["findings"]) == 3, "redact tag + fpe: %r" % b)
st2, _, b2 = jcall("POST", "/v1/redact", {"text": TEXT, "operator": "tag", "types": {"cn_mobile_phone": "fpe"}})
check(st2 == 200 and b2.get("text") == b.get("text"), "redact fpe is deterministic under the tenant key")
st, _, b = jcall("POST", "/v1/redact", {"text": TEXT})
check(st == 200 and "138****8000" in b.get("text", ""), "redact with the tenant's default (mask)")
st, _, b = jcall("POST", "/v1/redact", {"text": TEXT, "operator": "hash"}, key="beta")
check(st == 400 and error_code(st, b) == "no_key", "redact hash without a tenant key: 400 no_key")
st, _, b = jcall("POST", "/v1/redact", {"text": TEXT, "key": "00" * 32, "operator": "bogus"})
check(st == 400 and error_code(st, b) == "invalid_operator", "redact: unknown operator 400")

st, _, b = jcall("POST", "/v1/scan/batch", {"texts": [TEXT, "nothing here", "13800138000"]})
check(st == 200 and [len(r["findings"]) for r in b["results"]] == [3, 0, 1], "batch: %r" % b)
st, _, b = jcall("POST", "/v1/scan/batch", {"texts": ["a"] * 6})
check(st == 400 and error_code(st, b) == "batch_too_large", "batch over max_batch: 400")

st, _, b = jcall("GET", "/v1/rules")
ids = [r["id"] for r in b["rules"]]
check(st == 200 and "builtin.cn_resident_id" in ids and "global.ticket" in ids
      and "beta.project" not in ids, "rules for acme: built-ins + global, not beta's")

# ---------------------------------------------------------------- tenants
st, _, b = jcall("GET", "/v1/rules", key="beta")
types = sorted({r["type"] for r in b["rules"]})
check(st == 200 and types == ["beta_project", "cn_mobile_phone"], "rules for beta: its enabled types %r" % types)
st, _, b = jcall("POST", "/v1/scan", {"text": TEXT + " BETA-PRJ-4711"}, key="beta")
check(st == 200 and [x["type"] for x in b["findings"]] == ["cn_mobile_phone", "beta_project"],
      "beta sees only its enabled types and its own rules: %r" % b)
st, _, b = jcall("POST", "/v1/scan", {"text": "BETA-PRJ-4711"})
check(st == 200 and b["findings"] == [], "acme never matches beta's rules")
st, _, b = jcall("POST", "/v1/redact", {"text": TEXT}, key="beta")
check(st == 200 and "11010519491231002X" in b["text"] and "[手机号]" in b["text"],
      "beta's redaction leaves types it has not enabled: %r" % b)

# ---------------------------------------------------------------- errors
st, h, b = jcall("POST", "/v1/scan", {"text": TEXT}, key=None)
check(st == 401 and error_code(st, b) == "unauthorized", "no key: 401 JSON")
st, h, b = jcall("POST", "/v1/scan", {"text": TEXT}, key="not-a-key")
check(st == 401, "wrong key: 401")
st, h, b = jcall("POST", "/v1/scan", {"text": TEXT}, key="gone")
check(st == 401, "revoked key: 401")
st, h, b = jcall("GET", "/metrics", key="acme")
check(st == 403, "metrics without admin: 403")
st, h, b = jcall("POST", "/v1/scan", raw=b'{"text": "abc"')
check(st == 400 and error_code(st, b) == "malformed_json", "malformed JSON: 400")
st, h, b = jcall("POST", "/v1/scan", raw=b'{"text": "\xff\xfe"}')
check(st == 400 and error_code(st, b) == "invalid_utf8", "invalid UTF-8: 400")
st, h, b = jcall("POST", "/v1/scan", raw=b"")
check(st == 400 and error_code(st, b) == "empty_body", "empty body: 400")
st, h, b = jcall("POST", "/v1/scan", {"txt": "x"})
check(st == 400 and error_code(st, b) == "missing_field", "missing field: 400")
st, h, b = jcall("POST", "/v1/scan", {"text": 5})
check(st == 400 and error_code(st, b) == "invalid_field", "text not a string: 400")
st, h, b = jcall("POST", "/v1/scan", {"base64": "!!!"})
check(st == 400 and error_code(st, b) == "invalid_base64", "bad base64: 400")
st, h, b = jcall("POST", "/v1/scan", raw=b'{"text":"a"}', ctype="text/plain")
check(st == 415 and error_code(st, b) == "unsupported_media_type", "wrong content type: 415")
st, h, b = jcall("POST", "/v1/scan", raw=b'{"text":"' + b"a" * 70000 + b'"}')
check(st == 413 and error_code(st, b) == "body_too_large", "huge body (urllib): 413")
big = os.path.join(DIR, "big.json")
with open(big, "w") as fh:
    fh.write('{"text":"' + "a" * 200000 + '"}')
out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                      "Authorization: Bearer " + KEYS["acme"], "-H", "Content-Type: application/json",
                      "--data-binary", "@" + big, BASE + "/v1/scan"], capture_output=True, text=True)
check(out.stdout == "413", "huge body (curl): 413, got %r" % out.stdout)
# Chunked, no Content-Length: read, dropped, answered.
out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                      "Authorization: Bearer " + KEYS["acme"], "-H", "Content-Type: application/json",
                      "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + big, BASE + "/v1/scan"],
                     capture_output=True, text=True)
check(out.stdout == "413", "huge chunked body: 413, got %r" % out.stdout)
st, h, b = jcall("GET", "/v1/nope")
check(st == 404, "unknown path: 404")
st, h, b = jcall("GET", "/v1/scan")
check(st == 405, "wrong method: 405")

statuses = [jcall("GET", "/v1/rules", key="slow") for _ in range(3)]
check([s[0] for s in statuses[:2]] == [200, 200] and statuses[2][0] == 429
      and int(statuses[2][1].get("Retry-After", "0")) >= 1
      and error_code(429, statuses[2][2]) == "rate_limited", "rate limit: 429 with Retry-After")
st, _, _ = jcall("GET", "/v1/rules")
check(st == 200, "another tenant is not rate limited")

# ---------------------------------------------------------------- slow client
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 100\r\nAuthorization: Bearer " + KEYS["acme"].encode() + b"\r\n\r\n{\"te")
t0 = time.time()
st, _, b = jcall("POST", "/v1/scan", {"text": TEXT})
check(st == 200 and len(b["findings"]) == 3, "others are answered while a client stalls")
s.settimeout(10)
try:
    got = s.recv(4096)
except OSError:
    got = b""
waited = time.time() - t0
check(got == b"" and 1.0 <= waited <= 6, "the stalled client is timed out (%.1f s, %r)" % (waited, got[:40]))
s.close()

# ---------------------------------------------------------------- metrics
before = metrics()
n = 3
for _ in range(n):
    call("POST", "/v1/scan", {"text": TEXT})
after = metrics()
key = 'qinglang_requests_total{path="/v1/scan",status="200",tenant="acme"}'
check(after.get(key, 0) - before.get(key, 0) == n, "requests_total grows by exactly %d" % n)
for t in ("cn_mobile_phone", "cn_resident_id", "ticket_no"):
    k = 'qinglang_findings_total{type="%s",tenant="acme"}' % t
    check(after.get(k, 0) - before.get(k, 0) == n, "findings_total{%s} grows by exactly %d" % (t, n))
k = "qinglang_bytes_scanned_total"
check(after.get(k, 0) - before.get(k, 0) == n * len(TEXT.encode()), "bytes_scanned_total grows exactly")
k = "qinglang_request_duration_seconds_count"
check(after.get(k, 0) - before.get(k, 0) == n + 1, "duration histogram counts every request")

# ---------------------------------------------------------------- reload under load
rules_file = os.path.join(DIR, "global.yaml")
good_rules = open(rules_file).read()
log_path = os.path.join(DIR, "access.log")


def one(i):
    try:
        st, _, b = jcall("POST", "/v1/scan", {"text": TEXT}, timeout=30)
        return st == 200 and len(b["findings"]) == 3
    except Exception as e:  # noqa: BLE001 — any failure counts
        return repr(e)


def reload_events():
    try:
        with open(log_path, encoding="utf-8") as fh:
            return [json.loads(l) for l in fh if '"event":"reload"' in l]
    except OSError:
        return []


def hup_and_wait():
    """SIGHUP, then wait for its log line: signals sent while a reload runs
    would coalesce, and each of the ten must be a reload of its own."""
    seen = len(reload_events())
    os.kill(PID, signal.SIGHUP)
    deadline = time.time() + 15
    while len(reload_events()) == seen and time.time() < deadline:
        time.sleep(0.02)
    return reload_events()[seen:]


results = []
reloads_before = len(reload_events())
with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    futures = [pool.submit(one, i) for i in range(2000)]
    for i in range(10):
        time.sleep(0.05)
        if i == 4:
            with open(rules_file, "w") as fh:
                fh.write("version: 1\nrules:\n  - id: broken\n    regex: '(unclosed'\n")
            ev = hup_and_wait()
            check(len(ev) == 1 and ev[0]["ok"] is False and ev[0]["diagnostics"],
                  "a broken rule file: the SIGHUP reload is logged as failed with diagnostics: %r" % ev)
            st, _, b = jcall("POST", "/v1/admin/reload", raw=b"", key="ops")
            check(st == 500 and error_code(st, b) == "reload_failed" and b["error"]["diagnostics"],
                  "broken reload via the API: 500 with diagnostics: %r" % b)
            with open(rules_file, "w") as fh:
                fh.write(good_rules)
        else:
            ev = hup_and_wait()
            check(len(ev) == 1 and ev[0]["ok"] is True, "SIGHUP %d reloads: %r" % (i, ev))
    results = [f.result() for f in futures]
bad = [r for r in results if r is not True]
check(not bad, "reload under load: %d of 2000 failed: %r" % (len(bad), bad[:3]))
time.sleep(0.5)
st, _, b = jcall("POST", "/v1/admin/reload", raw=b"", key="ops")
check(st == 200 and b.get("reloaded") is True, "reload via the API with good rules: 200")
st, _, b = jcall("POST", "/v1/scan", {"text": TEXT})
check(st == 200 and len(b["findings"]) == 3, "scans after the reloads")
st, _, b = jcall("POST", "/v1/admin/reload", raw=b"", key="acme")
check(st == 403, "reload needs an admin key")

# ---------------------------------------------------------------- access log
lines = open(log_path, encoding="utf-8").read().splitlines()
events = [json.loads(l) for l in lines]
reloads = [e for e in events if e.get("event") == "reload"]
check(sum(1 for e in reloads if e["ok"]) == 10 and sum(1 for e in reloads if not e["ok"]) == 2,
      "every reload logged: 10 good, 2 broken (%d ok, %d failed)"
      % (sum(1 for e in reloads if e["ok"]), sum(1 for e in reloads if not e["ok"])))
reqs = [e for e in events if "status" in e]
check(len(reqs) > 2000 and all(set(e) >= {"time", "tenant", "method", "path", "status", "bytes",
                                          "findings", "latency_ms"} for e in reqs),
      "one access-log line per request with every field")
leaks = [s for s in SECRETS if any(s in l for l in lines)]
check(not leaks, "no raw value or key in the access log: %r" % leaks)
listed = open(os.path.join(DIR, "keys.list")).read()
check(re.fullmatch(r"(?:\S+\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n)+", listed) is not None
      and "gone" not in listed and not re.search(r"[0-9a-f]{64}", listed), "keys list: names and times only")
mode = os.stat(os.path.join(DIR, "keys")).st_mode & 0o777
check(mode == 0o600, "keys file mode 0600 (%o)" % mode)
check(all(KEYS[n] not in open(os.path.join(DIR, "keys")).read() for n in KEYS), "keys file holds no key")

if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("test_server: all checks passed")
