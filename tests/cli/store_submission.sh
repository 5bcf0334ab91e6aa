#!/bin/bash
# tests/cli/store_submission.sh: `rapporteur import --submission` end to end on a simulated
# scenario. Every list is encoded by `rapporteur encode` and imported; the counts equal
# each submission's end line, the stored case ids are the pseudonyms (no agency case
# reference reaches the store), the JSON report has the shape of the CSV import's; a cut
# file, an altered byte and a submission encoded with another key are refused with exit
# 65 and a located message, leaving the store exactly as it was; the same file is not
# imported twice; a sealed submission opens with the hub's key only; usage errors.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
SCEN="$RP_SRC/data/scenarios"

# snapshot TAG: what store $S holds, as export (JSON) and lists (JSON).
snapshot() {
    "$R" export --store "$S" --format json >"$TMP/snap.$1" 2>&1
    "$R" lists --store "$S" --json >>"$TMP/snap.$1" 2>&1
}

unchanged() {
    snapshot after
    if cmp -s "$TMP/snap.before" "$TMP/snap.after"; then
        ok "$1: store unchanged"
    else
        not_ok "$1: store changed" "$(diff "$TMP/snap.before" "$TMP/snap.after" | head -5)"
    fi
}

# end_count FILE: the record count of a submission's end line.
end_count() {
    tail -n 1 "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["end"])'
}

# ---- keys, a scenario, its lists encoded ----
"$R" keygen --secret "$TMP/secret.key" --quiet || not_ok "keygen secret"
"$R" keygen --secret "$TMP/other.key" --quiet || not_ok "keygen other secret"
"$R" keygen --hub "$TMP/hub" --quiet || not_ok "keygen hub"
"$R" keygen --hub "$TMP/hub2" --quiet || not_ok "keygen second hub"
"$R" simulate --config "$SCEN/small-national.json" --out "$TMP/sim" --seed 5 --quiet ||
    not_ok "simulate small-national"
lists=()
for csv in "$TMP"/sim/*.csv; do
    l=$(basename "$csv" .csv)
    case "$l" in truth | persons | captures) continue ;; esac
    lists+=("$l")
    "$R" encode "$csv" --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/secret.key" \
        --out "$TMP/$l.sub" --quiet || not_ok "encode $l"
done
[ ${#lists[@]} -ge 3 ] && ok "scenario has ${#lists[@]} encoded lists" || not_ok "too few lists"

# ---- every list imported ----
S="$TMP/hub.db"
"$R" init --store "$S" --quiet || not_ok "init"
for l in "${lists[@]}"; do
    n=$(end_count "$TMP/$l.sub")
    run 0 "import --submission $l" -- import --submission "$TMP/$l.sub" --store "$S" \
        --agency "agency-$l" --json
    expect_python "$l: counts and report shape" '
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
want = {"file", "store", "mapping", "agency", "list", "submission_id", "sha256", "duplicate",
        "read", "stored", "quarantined", "reasons"}
assert set(r) == want, sorted(set(r) ^ want)
assert (r["read"], r["stored"], r["quarantined"]) == (n, n, 0), (r, n)
assert r["duplicate"] is False and r["submission_id"] >= 1 and len(r["sha256"]) == 64, r
assert r["agency"] == "agency-" + sys.argv[3] and r["mapping"] == "" and r["reasons"] == {}, r
' "$TMP/out" "$n" "$l"
done

run 0 "lists" -- lists --store "$S" --json
expect_python "records per list equal the submissions' end lines" '
import json, sys
got = json.load(open(sys.argv[1]))
tmp = sys.argv[2]
lists = {}
for o in got["lists"]:
    lists[o["list"]] = o["records"]
want = {l: json.loads(open(f"{tmp}/{l}.sub").read().splitlines()[-1])["end"] for l in sys.argv[3:]}
assert lists == want, (lists, want)
subs = {s["list"]: (s["read"], s["stored"]) for s in got["submissions"]}
assert subs == {l: (n, n) for l, n in want.items()}, subs
' "$TMP/out" "$TMP" "${lists[@]}"

"$R" export --store "$S" --format csv >"$TMP/export.csv" || not_ok "export"
expect_python "stored case ids are the pseudonyms, never the agencies' references" '
import csv, glob, json, os, re, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
ids = {json.loads(l)["id"] for f in glob.glob(os.path.join(sys.argv[2], "*.sub"))
       for l in open(f) if "\"clk\"" in l}
assert len(rows) == len(ids) > 1000, (len(rows), len(ids))
assert {r["case_id"] for r in rows} == ids
refs = set()
for f in glob.glob(os.path.join(sys.argv[3], "*.csv")):
    if os.path.basename(f) in ("truth.csv", "persons.csv", "captures.csv"):
        continue
    first = open(f, encoding="utf-8").readline()
    delim = ";" if ";" in first else ","
    for r in list(csv.reader(open(f, encoding="utf-8"), delimiter=delim))[1:]:
        refs.add(r[0])
text = open(sys.argv[1], encoding="utf-8").read()
assert not any(ref in text for ref in refs if len(ref) >= 5), "an agency case reference was stored"
' "$TMP/export.csv" "$TMP" "$TMP/sim"

# ---- the same file again ----
l=${lists[0]}
snapshot before
run 0 "the same submission again is not imported" -- import --submission "$TMP/$l.sub" \
    --store "$S" --json
expect_python "reported as a duplicate" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duplicate"] is True and r["submission_id"] is None and r["duplicate_of"] >= 1, r
' "$TMP/out"
unchanged "duplicate"

# ---- damaged files: exit 65, located message, nothing stored ----
n_lines=$(wc -l <"$TMP/$l.sub")
head -n $((n_lines / 2)) "$TMP/$l.sub" >"$TMP/cut.sub"
snapshot before
run 65 "a cut submission" -- import --submission "$TMP/cut.sub" --store "$S"
expect_grep "cut: message names file and line" "$TMP/err" \
    "^rapporteur: .*cut\.sub:$((n_lines / 2 + 1)):[0-9]+: .*truncated"
unchanged "cut"

python3 - "$TMP/$l.sub" "$TMP/altered.sub" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
i = len(lines) // 2
k = lines[i].index('"clk"') + 12
c = lines[i][k]
lines[i] = lines[i][:k] + ("B" if c == "A" else "A") + lines[i][k + 1:]
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PYEOF
run 65 "a submission with an altered byte" -- import --submission "$TMP/altered.sub" --store "$S"
expect_grep "altered: the end line's checksum fails" "$TMP/err" \
    "^rapporteur: .*altered\.sub:$n_lines:[0-9]+: .*damaged"
unchanged "altered"

# ---- another key: refused ----
"$R" encode "$TMP/sim/$l.csv" --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/other.key" \
    --out "$TMP/otherkey.sub" --quiet || not_ok "encode with the other key"
run 65 "a submission encoded with another key" -- import --submission "$TMP/otherkey.sub" \
    --store "$S" --json
expect_grep "names the file and the key id" "$TMP/err" \
    "^rapporteur: .*otherkey\.sub: encoding schema differs from the store's in 'key_id'"
expect_python "JSON error object" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["error"]["code"] and "key_id" in r["error"]["message"], r
' "$TMP/out"
unchanged "other key"

# ---- sealed ----
"$R" seal "$TMP/$l.sub" --to "$TMP/hub.pub" --out "$TMP/sealed.sub" --quiet || not_ok "seal"
S="$TMP/sealed.db"
"$R" init --store "$S" --quiet || not_ok "init sealed store"
snapshot before
run 4 "a sealed submission without --hub-key" -- import --submission "$TMP/sealed.sub" --store "$S"
run 4 "a sealed submission with another hub's key" -- import --submission "$TMP/sealed.sub" \
    --hub-key "$TMP/hub2.key" --store "$S"
unchanged "sealed, wrong key"
run 0 "a sealed submission with the hub's key" -- import --submission "$TMP/sealed.sub" \
    --hub-key "$TMP/hub.key" --store "$S" --json
expect_python "sealed: every record stored" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["stored"] == r["read"] == int(sys.argv[2]) and r["quarantined"] == 0, r
' "$TMP/out" "$(end_count "$TMP/$l.sub")"

# ---- usage ----
run 2 "--submission with --mapping" -- import --submission "$TMP/$l.sub" --store "$S" \
    --mapping "$TMP/sim/$l.mapping.json"
run 2 "--submission with a CSV option" -- import --submission "$TMP/$l.sub" --store "$S" \
    --delimiter ";"
run 2 "--hub-key without --submission" -- import "$TMP/sim/$l.csv" --store "$S" \
    --mapping "$TMP/sim/$l.mapping.json" --hub-key "$TMP/hub.key"
run 65 "--list other than the submission's" -- import --submission "$TMP/${lists[1]}.sub" \
    --store "$S" --list "$l"
expect_grep "says which list the submission is for" "$TMP/err" "is for list '${lists[1]}', not '$l'"
run 0 "import --help" -- import --help
expect_grep "help shows --submission" "$TMP/out" "--submission FILE \[--hub-key KEY\]"

finish
