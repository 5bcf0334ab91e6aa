#!/bin/bash
# tests/cli/store_import.sh: the hostile corpus (tests/fixtures/bad/, see its README.md).
# Unusable files and mappings exit 65 with "rapporteur: FILE:LINE[:COLUMN]: ..." and leave
# the store exactly as it was (export and lists compared before and after); files with bad
# rows exit 3 and the quarantine names the right line and rule; read = stored +
# quarantined everywhere. Also: a 100 MB field, a very long line, re-import detection,
# Ctrl-C and kill -9 in the middle of an import.

. "$(dirname "$0")/lib.bash"

BAD="$RP_SRC/tests/fixtures/bad"
MAP="$BAD/agency.json"
R="$RP_BIN"

# ---- helpers ----

# new_store NAME: an empty store at $TMP/NAME.db (path in $S).
new_store() {
    S="$TMP/$1.db"
    rm -f "$S" "$S-wal" "$S-shm"
    "$R" init --store "$S" --quiet || not_ok "init $1"
}

# snapshot TAG: what the store holds, as export (JSON) and lists (JSON).
snapshot() {
    "$R" export --store "$S" --format json >"$TMP/snap.$1" 2>&1
    "$R" lists --store "$S" --json >>"$TMP/snap.$1" 2>&1
}

# json_counts_ok NAME: the import report in $TMP/out reconciles (read = stored + quarantined)
# and has the expected READ STORED QUARANTINED (args 2-4).
json_counts_ok() {
    expect_python "$1: counts $2 = $3 + $4" '
import json, sys
r = json.load(open(sys.argv[1]))
got = (r["read"], r["stored"], r["quarantined"])
want = tuple(int(x) for x in sys.argv[2:5])
assert r["read"] == r["stored"] + r["quarantined"], r
assert got == want, (got, want)
' "$TMP/out" "$2" "$3" "$4"
}

# unusable NAME LINE FILE [IMPORT OPTIONS...]: exit 65, a located message on stderr naming
# the file that is wrong (FILE, or the mapping given with --mapping), nothing stored.
unusable() {
    local name=$1 line=$2 file=$3
    shift 3
    local map=$MAP culprit=$file
    local -a opts=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--mapping" ]; then
            map=$2
            culprit=$2
            shift 2
        else
            opts+=("$1")
            shift
        fi
    done
    snapshot before
    run 65 "$name" -- import "$file" --mapping "$map" --store "$S" "${opts[@]}"
    local re
    re=$(printf '%s' "$culprit" | sed 's/[][\.*^$/]/\\&/g')
    if [ "$line" = "-" ]; then
        expect_grep "$name: message names the file" "$TMP/err" "^rapporteur: $re(:[0-9]+)*: [a-z]"
    else
        expect_grep "$name: message has file:$line" "$TMP/err" "^rapporteur: $re:$line(:[0-9]+)?: [a-z]"
    fi
    snapshot after
    if cmp -s "$TMP/snap.before" "$TMP/snap.after"; then
        ok "$name: store unchanged"
    else
        not_ok "$name: store changed" "$(diff "$TMP/snap.before" "$TMP/snap.after" | head -5)"
    fi
}

# bad_rows NAME FILE READ STORED QUARANTINED LINE:RULE...: exit 3 (0 when nothing is
# quarantined), the counts, and each LINE:RULE in the quarantine of that submission.
bad_rows() {
    local name=$1 file=$2 read=$3 stored=$4 quar=$5
    shift 5
    local want=3
    [ "$quar" -eq 0 ] && want=0
    new_store "rows"
    run "$want" "$name" -- import "$file" --mapping "$MAP" --store "$S" --json
    json_counts_ok "$name" "$read" "$stored" "$quar"
    local sub
    sub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["submission_id"])' "$TMP/out")
    "$R" quarantine --store "$S" --submission "$sub" >"$TMP/q.csv" 2>"$TMP/q.err" ||
        not_ok "$name: quarantine listing" "$(cat "$TMP/q.err")"
    expect_python "$name: quarantine has $* and $quar rows" '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
have = {(r["line"], r["rule"]) for r in rows}
for want in sys.argv[4:]:
    line, rule = want.split(":")
    assert (line, rule) in have, (want, sorted(have))
assert len({r["line"] for r in rows}) == int(sys.argv[2]), rows
for r in rows:
    assert r["file"] == sys.argv[3], r
    assert r["message"], r
' "$TMP/q.csv" "$quar" "$(basename "$file")" "$@"
    # the store holds exactly the stored rows
    "$R" lists --store "$S" --json >"$TMP/lists.json"
    expect_python "$name: store holds $stored records" '
import json, sys
l = json.load(open(sys.argv[1]))
assert sum(x["records"] for x in l["lists"]) == int(sys.argv[2]), l
s = l["submissions"][-1]
assert s["read"] == s["stored"] + s["quarantined"], s
assert (s["stored"], s["quarantined"]) == (int(sys.argv[2]), int(sys.argv[3])), s
' "$TMP/lists.json" "$stored" "$quar"
}

# ---- a store with something in it, for the unusable files ----

new_store "main"
run 0 "import good.csv" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --agency police --json
json_counts_ok "good.csv" 3 3 0

# ---- unusable files: exit 65, located message, store unchanged ----

unusable "empty file" 1 "$BAD/empty.csv"
unusable "binary file" 1 "$BAD/binary.dat"
unusable "NUL byte in a field" 3 "$BAD/nul_byte.csv"
unusable "UTF-16 file" 1 "$BAD/utf16.csv"
unusable "unbalanced quote" 3 "$BAD/unbalanced_quote.csv"
unusable "quote inside a field" 3 "$BAD/bad_quoting.csv"
unusable "invalid UTF-8" 3 "$BAD/invalid_utf8.csv"
unusable "Windows-1251 without --encoding" 2 "$BAD/cp1251.csv"
unusable "truncated UTF-8 at the end" 3 "$BAD/truncated_utf8.csv"
unusable "duplicated header names" 1 "$BAD/duplicate_header.csv"
unusable "empty header name" 1 "$BAD/empty_header_name.csv"
unusable "mapping refers to a missing column" - "$BAD/missing_column.csv"
unusable "delimiter mismatch (--delimiter ,)" - "$BAD/delimiter_mismatch.csv" --delimiter ,
unusable "mapping is not valid JSON" 5 "$BAD/good.csv" --mapping "$BAD/mapping_invalid.json"
unusable "mapping with an unknown field" - "$BAD/good.csv" --mapping "$BAD/mapping_unknown_field.json"
unusable "mapping with a bad recode target" - "$BAD/good.csv" --mapping "$BAD/mapping_bad_recode.json"

# A 100 MB single field, generated here (never committed): over --max-field.
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("case_ref,year,reg_date,sex,age,nationality,country_exploited,forms\n")
    f.write("P-1,2016,2016-03-14,F,24,UA,DE,sex\n")
    f.write("P-2,2016,2016-03-14,F,24,UA,DE,\"")
    chunk = "x" * (1 << 20)
    for _ in range(100):
        f.write(chunk)
    f.write("\"\n")
' "$TMP/big_field.csv"
unusable "100 MB single field" 3 "$TMP/big_field.csv"

# A very long line: 200,000 extra fields on one row (2.4 MB) is a ragged row, not a crash.
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("case_ref,year,reg_date,sex,age,nationality,country_exploited,forms\n")
    f.write("P-1,2016,2016-03-14,F,24,UA,DE,sex\n")
    f.write("P-2,2016,2016-03-14,F,24,UA,DE,sex" + ",extra" * 200000 + "\n")
' "$TMP/long_line.csv"
bad_rows "very long line" "$TMP/long_line.csv" 2 1 1 3:ragged

# ---- bad rows: exit 3, the right rule in the quarantine ----

bad_rows "ragged row (too few fields)" "$BAD/ragged_short.csv" 3 2 1 3:ragged
bad_rows "ragged row (too many fields)" "$BAD/ragged_long.csv" 3 2 1 3:ragged
bad_rows "impossible date 2017-02-30" "$BAD/impossible_date.csv" 3 2 1 3:date
bad_rows "unknown sex code" "$BAD/unknown_code.csv" 3 2 1 3:code
bad_rows "unknown form of exploitation" "$BAD/unknown_form.csv" 3 2 1 3:code
bad_rows "duplicated case id" "$BAD/duplicate_case_id.csv" 4 3 1 4:duplicate
bad_rows "age 130" "$BAD/age_130.csv" 3 2 1 3:range
bad_rows "age not a number" "$BAD/age_not_a_number.csv" 3 2 1 3:range
bad_rows "year 1850" "$BAD/year_1850.csv" 3 2 1 3:range
bad_rows "unknown countries" "$BAD/bad_country.csv" 4 2 2 3:country 4:country
bad_rows "year and date disagree" "$BAD/year_date_mismatch.csv" 2 1 1 3:consistency
bad_rows "every reason of one row" "$BAD/multi_errors.csv" 3 2 1 3:date 3:code 3:range 3:country
bad_rows "every row bad" "$BAD/all_rows_bad.csv" 3 0 3 2:code 3:range 4:date
bad_rows "control characters" "$BAD/control_chars.csv" 3 2 1 3:code
bad_rows "quoted newline: physical lines" "$BAD/quoted_newline.csv" 3 1 2 2:text 5:code
bad_rows "delimiter detected, ';' inside a value" "$BAD/delimiter_mismatch.csv" 3 2 1 4:ragged
expect_python "control characters never reach the terminal" '
import sys
data = open(sys.argv[1], "rb").read()
assert b"\x1b" not in data, data
' "$TMP/q.csv"

# ---- files that import whole ----

bad_rows "formula injection" "$BAD/formula_injection.csv" 4 4 0
"$R" export --store "$S" >"$TMP/export.csv"
"$R" export --store "$S" --format json >"$TMP/export.json"
expect_python "formula injection: stored as text, exported neutralised" '
import csv, json, sys
ids = [r["case_id"] for r in json.load(open(sys.argv[2]))]
assert ids == ["=cmd|'"'"' /C calc'"'"'!A0", "@SUM(A1:A9)", "+1+1", "-2+3"], ids
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
got = [r["case_id"] for r in rows]
assert got == ["'"'"'" + i for i in ids], got
for r in rows:
    for v in r.values():
        assert v[:1] not in ("=", "+", "-", "@"), v
' "$TMP/export.csv" "$TMP/export.json"

bad_rows "Namibia NA" "$BAD/namibia.csv" 3 3 0
"$R" stats --store "$S" --field citizenship,country_of_exploitation --json >"$TMP/out"
expect_python "Namibia NA stored as NA, not missing" '
import json, sys
f = {x["field"]: x["counts"] for x in json.load(open(sys.argv[1]))["fields"]}
assert f["citizenship"] == {"": 1, "NA": 2}, f
assert f["country_of_exploitation"] == {"DE": 2, "NA": 1}, f
' "$TMP/out"

bad_rows "alpha-3 countries" "$BAD/alpha3.csv" 3 3 0
"$R" stats --store "$S" --field citizenship,country_of_exploitation --json >"$TMP/out"
expect_python "alpha-3 countries stored as alpha-2" '
import json, sys
f = {x["field"]: x["counts"] for x in json.load(open(sys.argv[1]))["fields"]}
assert f["citizenship"] == {"NA": 1, "NG": 1, "UA": 1}, f
assert f["country_of_exploitation"] == {"DE": 1, "GB": 1, "IT": 1}, f
' "$TMP/out"

bad_rows "-99 and Unknown" "$BAD/missing_codes.csv" 3 3 0
"$R" stats --store "$S" --field sex,age,citizenship --json >"$TMP/out"
expect_python "-99 is missing, Unknown is unknown" '
import json, sys
f = {x["field"]: x["counts"] for x in json.load(open(sys.argv[1]))["fields"]}
assert f["sex"] == {"": 1, "female": 1, "unknown": 1}, f
assert f["citizenship"] == {"": 1, "RO": 1, "unknown": 1}, f
assert f["age"].get("", 0) == 1, f
' "$TMP/out"

for f in bom_crlf cr_only semicolon blank_lines padded_values good; do
    bad_rows "$f.csv" "$BAD/$f.csv" 3 3 0
    "$R" export --store "$S" --format json >"$TMP/export.json"
    expect_python "$f.csv: the same records as good.csv" '
import json, sys
recs = json.load(open(sys.argv[1]))
got = [(r["case_id"], r["sex"], r["age"], r["exploitation"]) for r in recs]
assert [g[0] for g in got] == ["P-1001", "P-1002", "P-1003"], got
assert [g[1] for g in got] == ["female", "male", "female"], got
' "$TMP/export.json"
done

bad_rows "header only" "$BAD/header_only.csv" 0 0 0

new_store "cp1251"
run 0 "Windows-1251 with --encoding" -- import "$BAD/cp1251.csv" --mapping "$MAP" --store "$S" --encoding WINDOWS-1251 --json
json_counts_ok "Windows-1251 with --encoding" 2 2 0
"$R" export --store "$S" --format json >"$TMP/export.json"
expect_python "Windows-1251 converted to UTF-8" '
import json, sys
ids = [r["case_id"] for r in json.load(open(sys.argv[1]))]
assert ids == ["Дело-1", "Дело-2"], ids
' "$TMP/export.json"

# ---- re-import ----

S="$TMP/main.db"
snapshot before
run 0 "re-import is detected" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --json
expect_python "re-import: duplicate of submission 1, nothing stored" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duplicate"] is True and r["duplicate_of"] == 1 and r["stored"] == 0, r
' "$TMP/out"
expect_grep "re-import: said on stderr" "$TMP/err" "already imported as submission 1"
snapshot after
if cmp -s "$TMP/snap.before" "$TMP/snap.after"; then ok "re-import: store unchanged"; else not_ok "re-import: store changed"; fi
run 3 "--allow-reimport: every case id is a duplicate" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --allow-reimport --json
json_counts_ok "--allow-reimport" 3 0 3

# ---- interrupted imports leave the store as it was ----

python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("case_ref,year,reg_date,sex,age,nationality,country_exploited,forms\n")
    for i in range(600000):
        f.write("K-%07d,2016,2016-03-14,F,%d,UA,DE,sex\n" % (i, 18 + i % 60))
' "$TMP/large.csv"

# interrupt SIGNAL NAME: start an import of large.csv, send SIGNAL once it has begun.
interrupt() {
    local sig=$1 name=$2
    snapshot before
    "$R" import "$TMP/large.csv" --mapping "$MAP" --store "$S" --quiet >"$TMP/out" 2>"$TMP/err" &
    local pid=$!
    sleep 1
    kill "-$sig" "$pid" 2>/dev/null
    local st=0
    wait "$pid" || st=$?
    if [ "$st" -eq 0 ]; then
        not_ok "$name: the import finished before the signal (make large.csv larger)"
        return
    fi
    ok "$name: import stopped (exit $st)"
    snapshot after
    if cmp -s "$TMP/snap.before" "$TMP/snap.after"; then
        ok "$name: store unchanged"
    else
        not_ok "$name: store changed" "$(diff "$TMP/snap.before" "$TMP/snap.after" | head -5)"
    fi
}
interrupt KILL "kill -9 mid-import"
interrupt INT "Ctrl-C mid-import"
expect_grep "Ctrl-C: said so" "$TMP/err" "interrupted; nothing was stored"
run 0 "the store still takes imports after both" -- import "$BAD/semicolon.csv" --mapping "$MAP" --store "$S" --list OTHER --quiet

finish
