#!/usr/bin/env python3
"""An independent verifier for qinglang evidence logs, packages and proofs.

Written from RFC 9162 (Certificate Transparency 2.0, section 2.1) and
docs/evidence.md only, sharing no code with the C library: SHA-256 from
hashlib, the log read with the standard sqlite3 module, Ed25519 signatures
checked by Debian's `openssl pkeyutl -verify -rawin` (the Python standard
library has no Ed25519).

    verify.py package FILE [--public-key PEM]        an evidence package
    verify.py receipts FILE --public-key PEM [--log DB]
                                                     receipts or `prove` output,
                                                     one JSON object a line
    verify.py consistency FILE --public-key PEM      `consistency` output
    verify.py log DB [--public-key PEM] [--signatures all|N]
                                                     a whole log: every leaf,
                                                     every stored node, every
                                                     head's root, signatures
    verify.py present RECEIPTS DB                    every receipt's entry is
                                                     in the log (crash test)
    verify.py report FILE [--reporter-file F] [--note-file F]
                          [--content-key KEY | --opening-key HEX]
                                                     an abuse report's
                                                     commitments match these
                                                     values (FILE: an entry, a
                                                     package or `get --decrypt`
                                                     output; a value file loses
                                                     one trailing newline)
    verify.py selftest                               the RFC 6962 reference tree

Prints one line per problem and exits 1 if there is any, 0 otherwise.
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile

STH_LABEL = b"qinglang-sth-v1"
REPORT_OPENING = b"qinglang-report-opening-v2"
REPORT_FIELDS = ("note", "reporter")


# ------------------------------------------------------- RFC 9162 2.1.1

def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH over a list of leaf hashes, by the RFC's recursive definition;
    complete subtrees are remembered, so the roots of many prefixes cost
    little more than one."""

    def __init__(self, leaves):
        self.leaves = leaves
        self.memo = {}

    def mth(self, begin, end):
        n = end - begin
        if n == 0:
            return sha256(b"")
        if n == 1:
            return self.leaves[begin]
        complete = n & (n - 1) == 0
        if complete and (begin, end) in self.memo:
            return self.memo[(begin, end)]
        k = largest_power_of_two_below(n)
        h = node_hash(self.mth(begin, begin + k), self.mth(begin + k, end))
        if complete:
            self.memo[(begin, end)] = h
        return h

    def path(self, m, begin, end):
        """PATH(m, D[begin:end]), RFC 9162 2.1.3.1."""
        n = end - begin
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m - begin < k:
            return self.path(m, begin, begin + k) + [self.mth(begin + k, end)]
        return self.path(m, begin + k, end) + [self.mth(begin, begin + k)]

    def subproof(self, m, begin, end, whole):
        """SUBPROOF(m, D[begin:end], b), RFC 9162 2.1.4.1."""
        if m == end:
            return [] if whole else [self.mth(begin, end)]
        k = largest_power_of_two_below(end - begin)
        if m <= begin + k:
            return self.subproof(m, begin, begin + k, whole) + [self.mth(begin + k, end)]
        return self.subproof(m, begin + k, end, False) + [self.mth(begin, begin + k)]


# --------------------------------------- RFC 9162 2.1.3.2 and 2.1.4.2

def verify_inclusion(index, size, leaf, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof):
    if first > second:
        return False
    if first == 0:
        return proof == []
    if first == second:
        return proof == [] and first_hash == second_hash
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ------------------------------------------------ docs/evidence.md

def canonical(value):
    """Canonical JSON: sorted keys, no whitespace, UTF-8, integers only,
    minimal escapes -- exactly what json.dumps writes with these settings
    for the values canonical JSON allows."""
    def check(v):
        if isinstance(v, bool) or v is None or isinstance(v, float):
            raise ValueError("not canonical JSON: %r" % (v,))
        if isinstance(v, int) and not 0 <= v < 2 ** 53:
            raise ValueError("integer out of range: %d" % v)
        if isinstance(v, list):
            for x in v:
                check(x)
        if isinstance(v, dict):
            for x in v.values():
                check(x)
    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def entry_format_problem(entry):
    """What is wrong with an entry's version and report (docs/evidence.md,
    "Entries" and "Reports"), or None."""
    version = entry.get("version")
    if version not in (1, 2) or isinstance(version, bool):
        return "not a version 1 or 2 entry"
    report = entry.get("report")
    if report is None:
        return None
    if version == 1 or entry.get("kind") != "abuse_report":
        return "a report in a version 1 entry or in one that is no abuse_report"
    if not isinstance(report, dict):
        return "its report is not an object"
    encrypted = "key_id" in report
    fields = [f for f in REPORT_FIELDS if f in report]
    if not fields or set(report) != set(fields) | {"salt"} | ({"key_id"} if encrypted else set()):
        return "its report's members are not the format's"
    if not is_hex(report["salt"], 16):
        return "its report's salt is not 16 bytes of hex"
    for f in fields:
        value = report[f]
        want = {"hmac_sha256", "ciphertext"} if encrypted else {"hmac_sha256"}
        if not isinstance(value, dict) or set(value) != want or not is_hex(value["hmac_sha256"], 32):
            return "its report's %s is malformed" % f
        if encrypted:
            try:
                blob = base64.b64decode(value["ciphertext"], validate=True)
            except (binascii.Error, TypeError):
                return "its report's %s ciphertext is not base64" % f
            if len(blob) < 28:
                return "its report's %s ciphertext is too short" % f
    return None


def is_hex(text, n):
    return (isinstance(text, str) and len(text) == 2 * n
            and all(c in "0123456789abcdef" for c in text))


def report_opening_key(content_key, salt):
    """HMAC-SHA-256(content key, or the empty key, "qinglang-report-opening-v2" || salt)."""
    return hmac.new(content_key or b"", REPORT_OPENING + salt, hashlib.sha256).digest()


def report_commitment(opening_key, field, value):
    """HMAC-SHA-256(opening key, field name || 0x00 || value)."""
    return hmac.new(opening_key, field.encode() + b"\0" + value, hashlib.sha256).hexdigest()


def sth_bytes(head):
    return (STH_LABEL + head["size"].to_bytes(8, "big") + head["time_ms"].to_bytes(8, "big")
            + bytes.fromhex(head["root"]))


class Signatures:
    """Ed25519 by `openssl pkeyutl -verify -rawin`, one process a check."""

    def __init__(self, pem):
        self.dir = tempfile.mkdtemp(prefix="qinglang-verify.")
        self.key = os.path.join(self.dir, "key.pem")
        with open(self.key, "w") as f:
            f.write(pem)

    def verify(self, message, signature):
        msg, sig = os.path.join(self.dir, "msg"), os.path.join(self.dir, "sig")
        with open(msg, "wb") as f:
            f.write(message)
        with open(sig, "wb") as f:
            f.write(signature)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", self.key,
                            "-rawin", "-in", msg, "-sigfile", sig],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def head_ok(self, head):
        return self.verify(sth_bytes(head), bytes.fromhex(head["signature"]))

    def close(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def same_key(pem_a, pem_b):
    def body(pem):
        return "".join(l for l in pem.strip().splitlines() if not l.startswith("-----"))
    return body(pem_a) == body(pem_b)


problems = []


def problem(text):
    problems.append(text)
    print("FAIL: " + text)


# ----------------------------------------------------------- commands

def check_package(path, trusted_pem):
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    if doc.get("format") != "qinglang-evidence-package-v1":
        problem("%s: not an evidence package" % path)
        return
    entry, receipt, head = doc["entry"], doc["receipt"], doc["receipt"]["tree_head"]
    index = receipt["index"]
    leaf = leaf_hash(canonical(entry))
    if leaf.hex() != receipt["leaf_hash"]:
        problem("entry %d: the receipt's leaf hash is not the entry's" % index)
    proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    if not verify_inclusion(index, head["size"], leaf, proof, bytes.fromhex(head["root"])):
        problem("entry %d: the inclusion proof does not lead to the root" % index)
    pem = doc["public_key"]
    if trusted_pem is not None and not same_key(trusted_pem, pem):
        problem("the package's public key is not the trusted one")
    sig = Signatures(trusted_pem if trusted_pem is not None else pem)
    if not sig.head_ok(head):
        problem("entry %d: the tree head's signature does not verify" % index)
    sig.close()
    why = entry_format_problem(entry)
    if why:
        problem("entry %d: %s" % (index, why))
    held = entry.get("content")
    if "content" in doc:
        blob = base64.b64decode(doc["content"], validate=True)
        if held is None or sha256(blob).hex() != held["ciphertext_sha256"]:
            problem("entry %d: the content does not match ciphertext_sha256" % index)
    if not problems:
        print("OK: %s (entry %d, tree of %d)" % (path, index, head["size"]))


def read_lines(path):
    with open(path, "rb") as f:
        for raw in f:
            if raw.endswith(b"\n"):      # a line cut by a kill is not a receipt
                yield json.loads(raw.decode("utf-8"))


def check_receipts(path, pem, db):
    sig = Signatures(pem)
    conn = sqlite3.connect(db) if db else None
    checked_heads = set()
    n = 0
    for r in read_lines(path):
        head, index = r["tree_head"], r["index"]
        if "inclusion_proof" in r:
            proof = [bytes.fromhex(h) for h in r["inclusion_proof"]]
            if not verify_inclusion(index, head["size"], bytes.fromhex(r["leaf_hash"]), proof,
                                    bytes.fromhex(head["root"])):
                problem("entry %d: the inclusion proof does not verify" % index)
        key = (head["size"], head["root"], head["signature"])
        if key not in checked_heads:
            checked_heads.add(key)
            if not sig.head_ok(head):
                problem("tree head of size %d: the signature does not verify" % head["size"])
        if conn is not None:
            row = conn.execute("SELECT entry FROM entries WHERE id = ?", (index,)).fetchone()
            if row is None or leaf_hash(bytes(row[0])).hex() != r["leaf_hash"]:
                problem("entry %d: not in the log as its receipt says" % index)
        n += 1
    sig.close()
    if not problems:
        print("OK: %d receipts" % n)


def check_consistency(path, pem):
    sig = Signatures(pem)
    n = 0
    for r in read_lines(path):
        a, b = r["tree_head_1"], r["tree_head_2"]
        proof = [bytes.fromhex(h) for h in r["consistency_proof"]]
        if not verify_consistency(a["size"], b["size"], bytes.fromhex(a["root"]),
                                  bytes.fromhex(b["root"]), proof):
            problem("%d -> %d: the consistency proof does not verify" % (a["size"], b["size"]))
        for h in (a, b):
            if not sig.head_ok(h):
                problem("tree head of size %d: the signature does not verify" % h["size"])
        n += 1
    sig.close()
    if not problems:
        print("OK: %d consistency proofs" % n)


def node_key(level, index):
    return level << 56 | index


def check_log(db, trusted_pem, signatures):
    conn = sqlite3.connect(db)
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    pem = bytes(meta["public_key"]).decode("utf-8")
    if trusted_pem is not None and not same_key(trusted_pem, pem):
        problem("the log's public key is not the trusted one")
    leaves = []
    for i, (index, entry, content) in enumerate(
            conn.execute("SELECT id, entry, content FROM entries ORDER BY id")):
        if index != i:
            problem("entry %d is missing" % i)
            return
        entry = bytes(entry)
        try:
            value = json.loads(entry.decode("utf-8"))
            if canonical(value) != entry:
                problem("entry %d: not in canonical form" % i)
            why = entry_format_problem(value)
            if why:
                problem("entry %d: %s" % (i, why))
            held = value.get("content")
            if (held is None) != (content is None) or (
                    held is not None and sha256(bytes(content)).hex() != held["ciphertext_sha256"]):
                problem("entry %d: the held content does not match the entry" % i)
        except (ValueError, UnicodeDecodeError) as e:
            problem("entry %d: not canonical JSON (%s)" % (i, e))
        leaves.append(leaf_hash(entry))
    tree = Tree(leaves)
    n = len(leaves)
    stored = dict(conn.execute("SELECT id, hash FROM nodes"))
    # Every complete subtree of the tree is stored, and nothing else.
    expected = 0
    level = 0
    while (1 << level) <= n:
        for index in range(n >> level):
            expected += 1
            begin = index << level
            h = stored.get(node_key(level, index))
            if h is None or bytes(h) != tree.mth(begin, begin + (1 << level)):
                problem("entries %d..%d: the stored node (level %d) is not the recomputed one"
                        % (begin, begin + (1 << level) - 1, level))
        level += 1
    if len(stored) != expected:
        problem("%d stored nodes, %d expected" % (len(stored), expected))
    heads = [dict(size=s, time_ms=t, root=bytes(r).hex(), signature=bytes(g).hex())
             for s, t, r, g in conn.execute(
                 "SELECT size, time_ms, root, signature FROM heads ORDER BY size")]
    if not heads or heads[-1]["size"] != n:
        problem("the latest tree head is not of the log's %d entries" % n)
    for h in heads:
        if h["size"] > n or tree.mth(0, h["size"]).hex() != h["root"]:
            problem("tree head of size %d: its root is not the tree's" % h["size"])
    sig = Signatures(trusted_pem if trusted_pem is not None else pem)
    chosen = heads
    if signatures != "all" and len(heads) > int(signatures):
        chosen = random.sample(heads[:-1], int(signatures) - 1) + heads[-1:]
    for h in chosen:
        if not sig.head_ok(h):
            problem("tree head of size %d: the signature does not verify" % h["size"])
    sig.close()
    if not problems:
        print("OK: %d entries, %d nodes, %d tree heads (%d signatures checked)"
              % (n, len(stored), len(heads), len(chosen)))


def check_present(receipts, db):
    conn = sqlite3.connect(db)
    n = 0
    for r in read_lines(receipts):
        row = conn.execute("SELECT entry FROM entries WHERE id = ?", (r["index"],)).fetchone()
        if row is None or leaf_hash(bytes(row[0])).hex() != r["leaf_hash"]:
            problem("entry %d had a receipt but is not in the log" % r["index"])
        n += 1
    if not problems:
        print("OK: all %d receipted entries are present" % n)


def read_value(path):
    with open(path, "rb") as f:
        value = f.read()
    if value.endswith(b"\n"):
        value = value[:-1]
    if value.endswith(b"\r"):
        value = value[:-1]
    return value


def check_report(path, options):
    """That an abuse report recorded these values: each given value's
    commitment recomputed and compared.  The opening key comes from the
    content key (and is printed, to hand to someone who should check this
    one report), is given, or, for a report made without a content key, is
    computed from the salt alone."""
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    entry = doc.get("entry", doc) if isinstance(doc.get("entry"), dict) else doc
    why = entry_format_problem(entry)
    report = entry.get("report")
    if why or report is None:
        problem("%s: %s" % (path, why or "the entry has no report"))
        return
    salt = bytes.fromhex(report["salt"])
    if "--opening-key" in options:
        opening = bytes.fromhex(options["--opening-key"])
    elif "key_id" in report:
        if "--content-key" not in options:
            problem("%s: the report was made with a content key: give it, or the opening key"
                    % path)
            return
        with open(options["--content-key"]) as f:
            key = bytes.fromhex(f.read().strip())
        opening = report_opening_key(key, salt)
        print("opening key: %s" % opening.hex())
    else:
        opening = report_opening_key(None, salt)
    checked = 0
    for field in REPORT_FIELDS:
        option = "--%s-file" % field
        if option not in options:
            continue
        checked += 1
        if field not in report:
            problem("%s: the report holds no %s" % (path, field))
        elif report_commitment(opening, field, read_value(options[option])) != \
                report[field]["hmac_sha256"]:
            problem("%s: the %s is not the one the report recorded" % (path, field))
        else:
            print("OK: the report recorded this %s" % field)
    if checked == 0:
        problem("%s: give --reporter-file or --note-file" % path)


def selftest():
    """The RFC 6962 reference tree (google/certificate-transparency
    cpp/merkletree/merkle_tree_test.cc; transparency-dev/merkle
    proof/verify_test.go)."""
    inputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
    roots = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
             "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
             "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
             "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
             "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
             "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
    tree = Tree([leaf_hash(bytes.fromhex(x)) for x in inputs])
    for n in range(1, 9):
        if tree.mth(0, n).hex() != roots[n - 1]:
            problem("root of %d" % n)
        for m in range(n):
            p = tree.path(m, 0, n)
            if not verify_inclusion(m, n, tree.leaves[m], p, tree.mth(0, n)):
                problem("inclusion %d in %d" % (m, n))
        for m in range(1, n + 1):
            p = tree.subproof(m, 0, n, True) if m < n else []
            if not verify_consistency(m, n, tree.mth(0, m), tree.mth(0, n), p):
                problem("consistency %d -> %d" % (m, n))
    if [h.hex() for h in tree.subproof(6, 0, 8, True)] != [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]:
        problem("consistency proof 6 -> 8")
    if not problems:
        print("OK: the reference tree's roots and proofs")


def main(argv):
    args, options = [], {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            options[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    pem = None
    if "--public-key" in options:
        with open(options["--public-key"]) as f:
            pem = f.read()
    if not args:
        print(__doc__)
        return 2
    command = args[0]
    if command == "package" and len(args) == 2:
        check_package(args[1], pem)
    elif command == "receipts" and len(args) == 2 and pem:
        check_receipts(args[1], pem, options.get("--log"))
    elif command == "consistency" and len(args) == 2 and pem:
        check_consistency(args[1], pem)
    elif command == "log" and len(args) == 2:
        check_log(args[1], pem, options.get("--signatures", "all"))
    elif command == "present" and len(args) == 3:
        check_present(args[1], args[2])
    elif command == "report" and len(args) == 2:
        check_report(args[1], options)
    elif command == "selftest":
        selftest()
    else:
        print(__doc__)
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
