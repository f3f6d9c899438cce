#!/usr/bin/env python3
"""Checks the evidence endpoints of a running `qinglang serve` over real
HTTP (tests/cli/server.sh starts it, with an `evidence:` section).
Arguments: the test directory (keys, the log and its keys under ev/), the
evidence server's port, the port of a server without an evidence section,
the qinglang binary.  Receipts and proofs are checked with
tests/evidence/verify.py (an independent verifier) and with
`qinglang evidence verify`.  Exits 1 naming every failed check."""
import base64
import concurrent.futures
import hashlib
import hmac
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

DIR, PORT, PLAIN_PORT, QINGLANG = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VERIFY = os.path.join(SOURCE, "tests", "evidence", "verify.py")
EV = os.path.join(DIR, "ev")
DB, PUB = os.path.join(EV, "evidence.db"), os.path.join(EV, "sign.key.pub")
KEYS = {n: open(os.path.join(DIR, n + ".apikey")).read().strip() for n in ("acme", "beta", "ops")}
failures = []

spec = importlib.util.spec_from_file_location("verify", VERIFY)
verify = importlib.util.module_from_spec(spec)
spec.loader.exec_module(verify)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def call(method, path, body=None, key="acme", port=PORT):
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    if key:
        req.add_header("Authorization", "Bearer " + KEYS[key])
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            st, b = r.status, r.read()
    except urllib.error.HTTPError as e:
        st, b = e.code, e.read()
    try:
        return st, json.loads(b)
    except ValueError:
        return st, b


def error_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def receipt_ok(r, index=None):
    head = r["tree_head"]
    ok = verify.verify_inclusion(r["index"], head["size"], bytes.fromhex(r["leaf_hash"]),
                                 [bytes.fromhex(h) for h in r["inclusion_proof"]],
                                 bytes.fromhex(head["root"]))
    return ok and (index is None or r["index"] == index)


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


# ------------------------------------------------ appends, serially
receipts = []
# Values nothing else in the test directory holds, so finding them in any
# file there (the log, its WAL, the access log, the server's stderr) means
# the service wrote them in clear.
REPORTER_0, NOTE_0 = "reporter-5e1d@example.org", "此帖涉嫌诈骗 note-c7a9\n第二行"
REPORTER_1 = "+86 139-reporter-0b44"
REPORTS = [
    ("acme", {"url": "https://forum.example/t/1", "content": "联系 13800138000 找我",
              "reporter": REPORTER_0, "note": NOTE_0}),
    ("beta", {"url": "https://forum.example/t/2", "content": "身份证 11010519491231002X",
              "reporter": REPORTER_1}),
    ("acme", {"content": "nothing to find here"}),
]
CLEAR_VALUES = [REPORTER_0, "note-c7a9", "第二行", REPORTER_1]
CONTENT_KEY = bytes.fromhex(open(os.path.join(EV, "content.key")).read().strip())
CONTENT_KEY_ID = hashlib.sha256(b"qinglang-content-key-id-v1" + CONTENT_KEY).digest()[:8].hex()


def expected_report(report, salt_hex, content_key):
    """The commitments docs/evidence.md ("Reports") says an entry holds."""
    salt = bytes.fromhex(salt_hex)
    opening = hmac.new(content_key or b"", b"qinglang-report-opening-v2" + salt, hashlib.sha256).digest()
    return {name: hmac.new(opening, name.encode() + b"\0" + report[name].encode(), hashlib.sha256).hexdigest()
            for name in ("note", "reporter") if name in report}


def files_holding(directory, values):
    found = []
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            found += ["%s holds %r" % (path, v) for v in values if v.encode() in data]
    return found
for i, (who, report) in enumerate(REPORTS):
    st, r = call("POST", "/v1/reports", report, key=who)
    check(st == 201, "report %d answers 201 (got %s %r)" % (i, st, r))
    if st == 201:
        check(set(r) == {"inclusion_proof", "index", "leaf_hash", "tree_head"},
              "report %d: the receipt has the fields `evidence add` prints" % i)
        check(r["index"] == i and r["tree_head"]["size"] == i + 1, "report %d: index %d" % (i, i))
        check(receipt_ok(r), "report %d: its inclusion proof verifies" % i)
        receipts.append(r)

SCAN_TEXT = "客户 电话 13800138000"
st, plain = call("POST", "/v1/scan", {"text": SCAN_TEXT})
for i in range(2):
    st, r = call("POST", "/v1/scan", {"text": SCAN_TEXT, "receipt": True})
    check(st == 200 and "receipt" in r, "scan %d with receipt answers 200 with a receipt" % i)
    if st == 200 and "receipt" in r:
        check(r["findings"] == plain["findings"], "scan %d: the findings are those of a plain scan" % i)
        check(receipt_ok(r["receipt"], 3 + i), "scan %d: its receipt verifies, index %d" % (i, 3 + i))
        receipts.append(r["receipt"])
st, r = call("POST", "/v1/scan", {"text": SCAN_TEXT, "receipt": False})
check(st == 200 and "receipt" not in r, "receipt: false adds no receipt")

# ------------------------------------------------ reads
st, sth = call("GET", "/v1/evidence/sth")
check(st == 200 and sth.get("size") == 5, "sth: size 5 (got %s %r)" % (st, sth))
cli_sth = run(QINGLANG, "evidence", "sth", "--log", DB)
check(cli_sth.returncode == 0 and json.loads(cli_sth.stdout) == sth, "sth equals `qinglang evidence sth`")
st, sth2 = call("GET", "/v1/evidence/sth?size=2")
check(st == 200 and sth2.get("size") == 2 and sth2["root"] == receipts[1]["tree_head"]["root"],
      "sth?size=2 is the head report 1's receipt holds")

KINDS = ["abuse_report"] * 3 + ["scan_receipt"] * 2
OWNERS = ["acme", "beta", "acme", "acme", "acme"]
for i in range(5):
    st, e = call("GET", "/v1/evidence/%d" % i, key=OWNERS[i])
    check(st == 200, "entry %d answers 200 to its tenant (got %s %r)" % (i, st, e))
    if st != 200:
        continue
    entry = e["entry"]
    check(e["index"] == i and e["leaf_hash"] == receipts[i]["leaf_hash"], "entry %d: its receipt's leaf hash" % i)
    check(verify.leaf_hash(verify.canonical(entry)).hex() == e["leaf_hash"],
          "entry %d: the leaf hash is that of the canonical entry" % i)
    cli = run(QINGLANG, "evidence", "get", str(i), "--log", DB)
    check(cli.returncode == 0 and json.loads(cli.stdout) == entry, "entry %d equals `qinglang evidence get`" % i)
    check(entry["kind"] == KINDS[i] and entry["source"]["tenant"] == OWNERS[i],
          "entry %d: kind %s, tenant %s" % (i, KINDS[i], OWNERS[i]))
    text = json.dumps(entry, ensure_ascii=False)
    for secret in ("13800138000", "11010519491231002X"):
        check(secret not in text, "entry %d holds no raw value" % i)
    if i < 3:
        content = REPORTS[i][1]["content"].encode()
        check(entry["content_sha256"] == hashlib.sha256(content).hexdigest(), "entry %d: content hash" % i)
        check(entry["source"].get("url") == REPORTS[i][1].get("url"), "entry %d: source url" % i)
        check(entry.get("content", {}).get("cipher") == "aes-256-gcm", "entry %d: content kept encrypted" % i)
        dec = subprocess.run([QINGLANG, "evidence", "get", str(i), "--content", "--log", DB,
                              "--content-key", os.path.join(EV, "content.key")], capture_output=True)
        check(dec.returncode == 0 and dec.stdout == content, "entry %d: the content decrypts" % i)
        report = REPORTS[i][1]
        if "reporter" in report or "note" in report:
            held = entry.get("report", {})
            fields = sorted(k for k in ("note", "reporter") if k in report)
            check(entry["version"] == 2 and sorted(held) == sorted(fields + ["key_id", "salt"]),
                  "entry %d: version 2, a report with key_id, salt and %s (got %r)" % (i, fields, held))
            if sorted(held) == sorted(fields + ["key_id", "salt"]):
                want = expected_report(report, held["salt"], CONTENT_KEY)
                check({k: held[k]["hmac_sha256"] for k in fields} == want,
                      "entry %d: the commitments are HMACs under the opening key of the content key" % i)
                check(held["key_id"] == CONTENT_KEY_ID, "entry %d: the report's key id" % i)
                check(all(len(base64.b64decode(held[k]["ciphertext"], validate=True)) ==
                          12 + len(report[k].encode()) + 16 for k in fields),
                      "entry %d: each value encrypted (nonce, ciphertext, tag)" % i)
            dec = run(QINGLANG, "evidence", "get", str(i), "--decrypt", "--log", DB,
                      "--content-key", os.path.join(EV, "content.key"))
            got = json.loads(dec.stdout) if dec.returncode == 0 else {}
            check(got.get("entry") == entry and {k: got.get(k) for k in ("note", "reporter")} ==
                  {k: report.get(k) for k in ("note", "reporter")},
                  "entry %d: get --decrypt gives the reporter and note back (got %s %s)" % (i, dec.returncode, dec.stderr))
        else:
            check("report" not in entry, "entry %d: no reporter, no note: no report" % i)
    else:
        check("content" not in entry, "scan receipt %d keeps the hash only" % i)
        check([f["masked"] for f in entry["findings"]] == [f["masked"] for f in plain["findings"]],
              "scan receipt %d: the masked findings" % i)
check(call("GET", "/v1/evidence/0", key="beta")[0] == 403, "another tenant's entry is 403")
check(call("GET", "/v1/evidence/1", key="ops")[0] == 200, "an admin reads any entry")

proofs = []
for i in range(5):
    st, p = call("GET", "/v1/evidence/proof?index=%d&size=5" % i)
    check(st == 200 and receipt_ok(p, i) and p["tree_head"] == sth, "proof %d in the head of 5" % i)
    proofs.append(p)
st, p = call("GET", "/v1/evidence/proof?index=1&size=3")
check(st == 200 and p["tree_head"]["size"] == 3 and receipt_ok(p, 1), "proof of 1 in the head of 3")
proofs.append(p)
st, p = call("GET", "/v1/evidence/proof?index=4")
check(st == 200 and p["tree_head"]["size"] == 5, "proof without size: the latest head")

consistencies = []
for q in ("first=2&second=5", "first=1&second=3", "first=3"):
    st, c = call("GET", "/v1/evidence/consistency?" + q)
    check(st == 200 and set(c) == {"consistency_proof", "tree_head_1", "tree_head_2"},
          "consistency?%s answers 200 (got %s %r)" % (q, st, c))
    if st == 200:
        a, b = c["tree_head_1"], c["tree_head_2"]
        check(verify.verify_consistency(a["size"], b["size"], bytes.fromhex(a["root"]), bytes.fromhex(b["root"]),
                                        [bytes.fromhex(h) for h in c["consistency_proof"]]),
              "consistency?%s verifies" % q)
        consistencies.append(c)
cli_c = run(QINGLANG, "evidence", "consistency", "2", "5", "--log", DB)
check(cli_c.returncode == 0 and json.loads(cli_c.stdout) == consistencies[0],
      "consistency equals `qinglang evidence consistency 2 5`")

# ------------------------------------------------ many appends at once
def scan_receipt(n):
    return call("POST", "/v1/scan", {"text": "电话 1380013%04d" % n, "receipt": True},
                key=("acme", "beta")[n % 2])


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    results = list(pool.map(scan_receipt, range(40)))
check(all(st == 200 and receipt_ok(r["receipt"]) for st, r in results), "40 concurrent receipts verify")
indexes = sorted(r["receipt"]["index"] for st, r in results if st == 200)
check(indexes == list(range(5, 45)), "40 concurrent appends: indexes 5..44, each once")
receipts += [r["receipt"] for st, r in results if st == 200]
st, c = call("GET", "/v1/evidence/consistency?first=5&second=45")
check(st == 200, "consistency 5 -> 45")
consistencies.append(c)

# ------------------------------------------------ the independent verifier and the command
path = os.path.join(EV, "receipts.jsonl")
with open(path, "w") as f:
    for r in receipts + proofs:
        f.write(json.dumps(r) + "\n")
v = run(sys.executable, VERIFY, "receipts", path, "--public-key", PUB, "--log", DB)
check(v.returncode == 0 and "OK: %d receipts" % len(receipts + proofs) in v.stdout,
      "verify.py receipts: %s %s" % (v.stdout.strip(), v.stderr.strip()))
path = os.path.join(EV, "consistency.jsonl")
with open(path, "w") as f:
    for c in consistencies:
        f.write(json.dumps(c) + "\n")
v = run(sys.executable, VERIFY, "consistency", path, "--public-key", PUB)
check(v.returncode == 0 and "OK: %d consistency proofs" % len(consistencies) in v.stdout,
      "verify.py consistency: %s %s" % (v.stdout.strip(), v.stderr.strip()))
v = run(sys.executable, VERIFY, "log", DB, "--public-key", PUB)
check(v.returncode == 0, "verify.py log: %s %s" % (v.stdout.strip(), v.stderr.strip()))
v = run(QINGLANG, "evidence", "verify", "--log", DB, "--public-key", PUB)
check(v.returncode == 0, "qinglang evidence verify: %s %s" % (v.stdout.strip(), v.stderr.strip()))

# ------------------------------------------------ reporter and note never in clear
check(os.path.getsize(os.path.join(EV, "access.log")) > 0, "the access log has lines")
leaks = files_holding(DIR, CLEAR_VALUES)
check(not leaks, "no file holds a reporter or a note in clear: %s" % leaks)


# ------------------------------------------------ a log without a content key
def serve(config_dir, config):
    """Starts `qinglang serve` on a free port; (process, port)."""
    os.makedirs(config_dir)
    with open(os.path.join(config_dir, "config.yaml"), "w") as f:
        f.write(config)
    err = open(os.path.join(config_dir, "stderr"), "wb")
    proc = subprocess.Popen([QINGLANG, "serve", "--config", os.path.join(config_dir, "config.yaml"),
                             "--listen", "127.0.0.1:0"], stderr=err)
    for _ in range(300):
        with open(os.path.join(config_dir, "stderr"), "rb") as f:
            m = re.search(rb"^listening on 127\.0\.0\.1:(\d+)$", f.read(), re.M)
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    return proc, None


NOKEY = os.path.join(DIR, "ev-nokey")
proc, port = serve(NOKEY, """threads: 2
keys: ../keys
access_log: access.log
tenants:
  acme:
    operator: mask
evidence:
  log: evidence.db
  key_file: ../ev/sign.key
""")
check(port is not None, "a server with a log but no content key starts")
if port is not None:
    report = {"url": "https://forum.example/t/9", "content": "联系 13800138000",
              "reporter": REPORTER_0, "note": NOTE_0}
    st, r = call("POST", "/v1/reports", report, port=port)
    check(st == 201 and receipt_ok(r, 0), "no content key: the report answers 201 with a receipt")
    st, e = call("GET", "/v1/evidence/0", port=port)
    entry = e.get("entry", {}) if st == 200 else {}
    held = entry.get("report", {})
    check(st == 200 and "content" not in entry and sorted(held) == ["note", "reporter", "salt"] and
          all(list(held[k]) == ["hmac_sha256"] for k in ("note", "reporter")),
          "no content key: the report holds the salt and the commitments only (got %r)" % held)
    if sorted(held) == ["note", "reporter", "salt"]:
        check({k: held[k]["hmac_sha256"] for k in ("note", "reporter")} ==
              expected_report(report, held["salt"], None),
              "no content key: the commitments are HMACs under the salt's opening key")
    with open(os.path.join(NOKEY, "entry0.json"), "w") as f:
        json.dump(e, f)
    with open(os.path.join(NOKEY, "reporter.txt"), "w") as f:
        f.write(REPORTER_0)
    v = run(sys.executable, VERIFY, "report", os.path.join(NOKEY, "entry0.json"), "--reporter-file",
            os.path.join(NOKEY, "reporter.txt"))
    check(v.returncode == 0 and "OK: the report recorded this reporter" in v.stdout,
          "no content key: verify.py report shows the reporter was recorded: %s" % v.stdout.strip())
    os.unlink(os.path.join(NOKEY, "reporter.txt"))
    dec = run(QINGLANG, "evidence", "get", "0", "--decrypt", "--log", os.path.join(NOKEY, "evidence.db"),
              "--content-key", os.path.join(EV, "content.key"))
    check(dec.returncode == 2 and "only commitments" in dec.stderr,
          "no content key: there is nothing to decrypt (got %s %s)" % (dec.returncode, dec.stderr.strip()))
    st, r = call("POST", "/v1/reports", {"content": "x", "note": "n" * 65537}, port=port)
    check(st == 400 and error_code(r) == "invalid_field", "a note over 65536 bytes is 400 (got %s %r)" % (st, r))
    v = run(QINGLANG, "evidence", "verify", "--log", os.path.join(NOKEY, "evidence.db"), "--public-key", PUB)
    check(v.returncode == 0 and "OK: 1 entries" in v.stdout, "no content key: the log verifies: %s" % v.stdout.strip())
proc.send_signal(signal.SIGTERM)
check(proc.wait(timeout=60) == 0, "the server without a content key exits 0")
with open(os.path.join(NOKEY, "stderr"), "rb") as f:
    err = f.read()
check(b"Sanitizer" not in err and b"runtime error" not in err, "no sanitizer report: %r" % err[-600:])
leaks = files_holding(NOKEY, CLEAR_VALUES)
check(not leaks, "no content key: no file holds the reporter or the note in clear: %s" % leaks)

# ------------------------------------------------ errors
ERRORS = [
    ("GET", "/v1/evidence/45", None, 404, "not_found"),
    ("GET", "/v1/evidence/99999999999999999999", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/abc", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/-1", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/1x", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/proof", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/proof?index=x", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/proof?index=1&size=", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/proof?index=45", None, 404, "not_found"),
    ("GET", "/v1/evidence/proof?index=1&size=46", None, 404, "not_found"),
    ("GET", "/v1/evidence/proof?index=3&size=2", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/consistency", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/consistency?first=1&second=z", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/consistency?first=3&second=2", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/consistency?first=1&second=99", None, 404, "not_found"),
    ("GET", "/v1/evidence/sth?size=99", None, 404, "not_found"),
    ("GET", "/v1/evidence/sth?size=-3", None, 400, "invalid_query"),
    ("GET", "/v1/evidence/0/x", None, 404, "not_found"),
    ("POST", "/v1/evidence/sth", {}, 405, "method_not_allowed"),
    ("GET", "/v1/reports", None, 405, "method_not_allowed"),
    ("POST", "/v1/reports", {"url": "https://x"}, 400, "missing_field"),
    ("POST", "/v1/reports", {"content": 5}, 400, "invalid_field"),
    ("POST", "/v1/reports", {"content": "x", "url": 5}, 400, "invalid_field"),
    ("POST", "/v1/reports", {"content": "x", "reporter": 5}, 400, "invalid_field"),
    ("POST", "/v1/reports", {"content": "x", "note": ["n"]}, 400, "invalid_field"),
    ("POST", "/v1/reports", {"content": "x", "reporter": "r" * 65537}, 400, "invalid_field"),
    ("POST", "/v1/scan", {"text": "x", "receipt": "yes"}, 400, "invalid_field"),
]
for method, path, body, status, code in ERRORS:
    st, r = call(method, path, body)
    check(st == status and error_code(r) == code, "%s %s: %d %s (got %s %r)" % (method, path, status, code, st, r))
check(call("GET", "/v1/evidence/sth", key=None)[0] == 401, "evidence endpoints need a key")
st, r = call("GET", "/v1/evidence/sth")
check(st == 200 and r["size"] == 45, "the errors appended nothing")

for method, path, body in [("POST", "/v1/reports", {"content": "x"}), ("GET", "/v1/evidence/sth", None),
                           ("GET", "/v1/evidence/0", None), ("GET", "/v1/evidence/proof?index=0", None),
                           ("GET", "/v1/evidence/consistency?first=0", None),
                           ("POST", "/v1/scan", {"text": "x", "receipt": True})]:
    st, r = call(method, path, body, port=PLAIN_PORT)
    check(st == 404 and error_code(r) == "no_evidence_log",
          "without an evidence section %s %s: 404 no_evidence_log (got %s %r)" % (method, path, st, r))
st, r = call("POST", "/v1/scan", {"text": "x", "receipt": False}, port=PLAIN_PORT)
check(st == 200, "without an evidence section, receipt: false still scans")

if failures:
    print("test_evidence_http: %d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("test_evidence_http: ok")
