#!/bin/sh
# `qinglang model` and the model in `qinglang scan --moderate`
# (docs/moderate.md "Model"; cli/model.c, lib/modmodel.c):
#
#  1. `model train` writes a model file (atomically: nothing else is left
#     beside it), the same bytes from the same data; `model info` lists its
#     classes and threshold; the built-in model has benign + 7 categories;
#  2. the trained model flags its category for review (never block) with
#     a `model` hit whose span is exact, passes ordinary text; --no-model
#     and a threshold no message reaches pass it; the same through JSONL;
#  3. errors exit 2 with a clear message: a training line without a tab
#     (FILE:LINE), too many categories, no data, a damaged model file,
#     a missing one, a bad --model-threshold, unknown options.
set -u
ql=${QINGLANG:?set QINGLANG to the qinglang binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/ql-model.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_rc() { [ "$2" -eq "$1" ] || fail "$3: exit $2, want $1"; }

# 1. training
mkdir "$T/m"
{
    printf 'harmful.gambling\t%s\n' 今晚百家乐开局首充送一百加我微信 真人百家乐上线充值返水稳赚不赔 \
        百家乐代理招募流水日结私聊 新开盘口百家乐龙虎斗首充翻倍
    printf 'benign\t%s\n' 今天天气很好我们去公园散步吧 明天早上八点开会请准时参加 \
        这家餐厅的红烧肉很好吃推荐 孩子的作业写完了吗早点睡觉 周末一起去图书馆看书怎么样
} >"$T/train.tsv"
"$ql" model train --bits 12 --epochs 20 --threshold 1 -o "$T/m/a.qlmm" "$T/train.tsv" 2>"$T/err"
expect_rc 0 $? "model train"
"$ql" model train --bits 12 --epochs 20 --threshold 1 -o "$T/m/b.qlmm" "$T/train.tsv" 2>"$T/err"
cmp -s "$T/m/a.qlmm" "$T/m/b.qlmm" || fail "the same data gave different model files"
[ "$(ls "$T/m" | wc -l)" -eq 2 ] || fail "files beside the model: $(ls "$T/m")"
[ "$(wc -c <"$T/m/a.qlmm")" -eq $((72 + 7 + 17 + 4096 * 8)) ] || fail "model size $(wc -c <"$T/m/a.qlmm")"
"$ql" model info "$T/m/a.qlmm" >"$T/info" 2>"$T/err"
expect_rc 0 $? "model info"
printf 'threshold 1\nclasses 2\n  benign\n  harmful.gambling\n' >"$T/want"
cmp -s "$T/want" "$T/info" || fail "model info: $(cat "$T/info")"
"$ql" model info >"$T/info" 2>"$T/err"
expect_rc 0 $? "model info (built-in)"
sed -n 2p "$T/info" | grep -qx 'classes 8' || fail "built-in model: $(cat "$T/info")"

# 2. moderating with it (no lexicons: the model alone)
printf '%s\n' '——百家乐首充送彩金，私聊！！' '明天早上去公园散步，天气很好' >"$T/in.txt"
"$ql" scan --moderate --lines --no-builtin-lexicons --no-doxxing --model "$T/m/a.qlmm" "$T/in.txt" \
    >"$T/out" 2>"$T/err"
expect_rc 1 $? "scan with the model"
conf=$(sed -n 's/.*harmful\.gambling=\([0-9.]*\)$/\1/p' "$T/out")
cat >"$T/want" <<WANT
$T/in.txt:1: review harmful.gambling=$conf
    model harmful.gambling model [6,39)
$T/in.txt:2: pass
WANT
cmp -s "$T/want" "$T/out" || fail "text output: $(diff "$T/want" "$T/out")"
"$ql" scan --moderate --lines --no-builtin-lexicons --no-doxxing --model "$T/m/a.qlmm" \
    --format jsonl "$T/in.txt" >"$T/out.jsonl" 2>"$T/err"
python3 - "$T/out.jsonl" <<'PY' || fail "jsonl output: $(cat "$T/out.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [r["decision"] for r in rows] == ["review", "pass"], rows
h = rows[0]["hits"]
assert len(h) == 1 and h[0]["kind"] == "model" and h[0]["category"] == "harmful.gambling", h
assert (h[0]["start"], h[0]["end"]) == (6, 39) and "text" not in h[0], h
assert 0.73 < h[0]["confidence"] <= 1, h
PY
"$ql" scan --moderate --lines --no-builtin-lexicons --no-doxxing --no-model "$T/in.txt" >"$T/out" 2>"$T/err"
expect_rc 0 $? "--no-model"
"$ql" scan --moderate --lines --no-builtin-lexicons --no-doxxing --model "$T/m/a.qlmm" \
    --model-threshold 50 "$T/in.txt" >"$T/out" 2>"$T/err"
expect_rc 0 $? "--model-threshold 50"

# 3. errors
printf 'benign\tok\nno tab\n' >"$T/bad.tsv"
"$ql" model train -o "$T/x.qlmm" "$T/bad.tsv" 2>"$T/err"
expect_rc 2 $? "training line without a tab"
grep -q "bad.tsv:2: not \"category<TAB>text\"" "$T/err" || fail "no FILE:LINE: $(cat "$T/err")"
[ ! -e "$T/x.qlmm" ] || fail "a model written from bad data"
for c in 1 2 3 4 5 6 7 8; do printf 'c%d\tx\n' "$c"; done >"$T/many.tsv"
"$ql" model train -o "$T/x.qlmm" "$T/many.tsv" 2>"$T/err"
expect_rc 2 $? "eight categories"
printf 'benign\tok\n' >"$T/one.tsv"
"$ql" model train -o "$T/x.qlmm" "$T/one.tsv" 2>"$T/err"
expect_rc 2 $? "benign only"
grep -q "needs benign lines and at least one category" "$T/err" || fail "benign only: $(cat "$T/err")"
"$ql" model train "$T/train.tsv" 2>"$T/err"
expect_rc 2 $? "no -o"
"$ql" model train --bits 30 -o "$T/x.qlmm" "$T/train.tsv" 2>"$T/err"
expect_rc 2 $? "--bits 30"
head -c 100 "$T/m/a.qlmm" >"$T/cut.qlmm"
"$ql" scan --moderate --model "$T/cut.qlmm" "$T/in.txt" >"$T/out" 2>"$T/err"
expect_rc 2 $? "damaged model"
grep -q "cut.qlmm: not a qinglang model file" "$T/err" || fail "damaged model: $(cat "$T/err")"
"$ql" model info "$T/cut.qlmm" >"$T/out" 2>"$T/err"
expect_rc 2 $? "model info on a damaged file"
"$ql" scan --moderate --model "$T/none.qlmm" "$T/in.txt" >"$T/out" 2>"$T/err"
expect_rc 2 $? "missing model"
grep -q "none.qlmm: No such file" "$T/err" || fail "missing model: $(cat "$T/err")"
"$ql" scan --moderate --model-threshold x "$T/in.txt" >"$T/out" 2>"$T/err"
expect_rc 2 $? "bad --model-threshold"
"$ql" model frobnicate 2>"$T/err"
expect_rc 2 $? "unknown model command"

[ "$failures" -eq 0 ] || { echo "model.sh: $failures failure(s)"; exit 1; }
echo "model.sh: all checks passed"
