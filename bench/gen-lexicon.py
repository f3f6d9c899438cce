#!/usr/bin/env python3
"""bench/gen-lexicon.py N CORPUS OUT — writes an N-word benchmark lexicon.

A plain word list (one word a line), deterministic for a given N and corpus:
  - 100 are 2-4 character Chinese substrings of the corpus, the same 100
    in every size, so hits are as frequent whatever the size (a lexicon
    that never matches measures nothing but the skip loop; one whose
    share of occurring words grows with its size measures hit handling).
    Each occurs at most 40 times in the first 8 MB, as a harmful word
    does in ordinary text; with HITS=heavy any substring is taken, and
    the generator's repeated phrases make hits some 50 times as frequent;
  - of the rest, 90 % are random 2-4 character words over the 3,500 most
    common Chinese characters of the corpus that do not occur in its first
    8 MB (near misses, as most lexicon words are for ordinary text; a
    random pair of common characters is often a real word, and letting
    those in would make a larger lexicon mean more hits, not more words)
    and 10 % Latin words of 4-8 letters.
The same file feeds qinglang and mint-filter (bench/moderate.sh)."""
import os
import random
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    n, corpus, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(20261125)
    with open(corpus, encoding="utf-8", errors="replace") as f:
        text = f.read(8 << 20)
    runs, cur = [], []
    freq = {}
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            cur.append(ch)
            freq[ch] = freq.get(ch, 0) + 1
        elif cur:
            runs.append("".join(cur))
            cur = []
    common = [c for c, _ in sorted(freq.items(), key=lambda kv: -kv[1])[:3500]]
    runs = [r for r in runs if len(r) >= 4]
    words = set()
    want_sub = min(100, n)
    heavy = os.environ.get("HITS") == "heavy"
    tries = 0
    while len(words) < want_sub and runs and tries < 100000:
        tries += 1
        r = rng.choice(runs)
        k = rng.randint(2, 4)
        i = rng.randint(0, len(r) - k)
        w = r[i:i + k]
        if heavy or text.count(w) <= 40:
            words.add(w)
    rng = random.Random(20261125 + n)
    want_lat = (n - len(words)) // 10
    lat = set()
    while len(lat) < want_lat:
        lat.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8))))
    words |= lat
    # A word can occur only if each pair of its neighbouring characters does,
    # also across punctuation and other noise (the engine skips it).
    pairs = set()
    cjk = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    pairs.update(cjk[i:i + 2] for i in range(len(cjk) - 1))
    while len(words) < n:
        w = "".join(rng.choice(common) for _ in range(rng.randint(2, 4)))
        if w not in words and not all(w[i:i + 2] in pairs for i in range(len(w) - 1)):
            words.add(w)
    words = sorted(words)
    rng.shuffle(words)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(words[:n]) + "\n")


if __name__ == "__main__":
    main()
