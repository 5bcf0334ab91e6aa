#!/bin/bash
# tests/cli/simulate.sh: `rapporteur simulate` end to end. Every shipped scenario
# (data/scenarios/) simulates, and every agency file it writes imports into a store with
# its own mapping with no row set aside; the same seed gives identical folders; the true
# capture histories estimate back the true N with the true model; usage and folder errors.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
SCEN="$RP_SRC/data/scenarios"

run 0 "simulate --help" -- simulate --help
expect_grep "help names the output files" "$TMP/out" "truth.csv"
run 2 "simulate without --config" -- simulate --out "$TMP/x"
run 2 "simulate without --out" -- simulate --config "$SCEN/small-national.json"
run 2 "simulate with a bad seed" -- simulate --config "$SCEN/small-national.json" --out "$TMP/x" --seed -3

for f in "$SCEN"/*.json; do
    name=$(basename "$f" .json)
    out="$TMP/sim-$name"
    run 0 "simulate $name" -- simulate --config "$f" --out "$out" --seed 1 --json || continue
    cp "$TMP/out" "$TMP/summary-$name.json"
    store="$TMP/$name.db"
    "$R" init --store "$store" --quiet || not_ok "init $name"
    for csv in "$out"/*.csv; do
        list=$(basename "$csv" .csv)
        case "$list" in truth | persons | captures) continue ;; esac
        rows=$(($(wc -l <"$csv") - 1))
        if run 0 "$name: $list imports with its mapping" -- import "$csv" \
            --mapping "$out/$list.mapping.json" --store "$store" --json; then
            expect_python "$name: $list: all $rows rows stored, none set aside" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["read"] == int(sys.argv[2]) and r["stored"] == r["read"] and r["quarantined"] == 0, r
' "$TMP/out" "$rows"
        fi
    done
    expect_python "$name: truth.csv has one row per record, summary agrees" '
import csv, json, sys, os
out, summ = sys.argv[1], json.load(open(sys.argv[2]))
truth = list(csv.DictReader(open(os.path.join(out, "truth.csv"), encoding="utf-8")))
for l in summ["lists"]:
    rows = [t for t in truth if t["list"] == l["code"]]
    assert len(rows) == l["records"], (l["code"], len(rows), l["records"])
    assert sum(int(t["duplicate"]) for t in rows) == l["duplicates"]
    assert len({t["person_id"] for t in rows}) == l["people"]
persons = {p["person_id"]: p for p in csv.DictReader(open(os.path.join(out, "persons.csv"), encoding="utf-8"))}
assert len(persons) == summ["population"]
codes = [l["code"] for l in summ["lists"]]
for t in truth:
    h = persons[t["person_id"]]["capture_history"]
    assert h[codes.index(t["list"])] == "1", t
observed = sum(1 for p in persons.values() if "1" in p["capture_history"])
assert observed == summ["observed"]
' "$out" "$TMP/summary-$name.json"
    run 0 "$name: estimate on the true capture histories" -- estimate "$out/captures.csv" --json
    expect_python "$name: the estimate counts the observed people of the truth" '
import json, sys
e, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert e["observed"] == s["observed"], (e["observed"], s["observed"])
assert e["estimate"] >= e["observed"]
' "$TMP/out" "$TMP/summary-$name.json"
done

# Same seed, same files; another seed, another population.
run 0 "simulate again with seed 1" -- simulate --config "$SCEN/small-national.json" \
    --out "$TMP/again" --seed 1 --quiet
if diff -r "$TMP/sim-small-national" "$TMP/again" >/dev/null; then
    ok "same seed: identical folders"
else
    not_ok "same seed: folders differ" "$(diff -rq "$TMP/sim-small-national" "$TMP/again" | head -5)"
fi
run 0 "simulate with seed 2" -- simulate --config "$SCEN/small-national.json" \
    --out "$TMP/seed2" --seed 2 --quiet
if cmp -s "$TMP/sim-small-national/persons.csv" "$TMP/seed2/persons.csv"; then
    not_ok "seed 2 gives the same population as seed 1"
else
    ok "seed 2: another population"
fi

# Into a folder that is not empty: refused, the folder untouched.
run 2 "simulate into a non-empty folder" -- simulate --config "$SCEN/small-national.json" \
    --out "$TMP/sim-small-national" --seed 3
expect_grep "non-empty folder: says so" "$TMP/err" "not empty"
if cmp -s "$TMP/sim-small-national/persons.csv" "$TMP/again/persons.csv"; then
    ok "non-empty folder left as it was"
else
    not_ok "non-empty folder was changed"
fi
if ls -d "$TMP"/sim-small-national.tmp-* >/dev/null 2>&1; then
    not_ok "a staging folder was left behind"
else
    ok "no staging folder left behind"
fi

# A bad scenario: located message, nothing written.
printf '{"name": "x", "population": {"size": 10, "citizenship": {"GB": 1}, "country_of_exploitation": "GB"},\n "lists": [{"code": "A", "p": 1.5}, {"code": "B", "p": 0.2}]}\n' >"$TMP/bad.json"
run 65 "simulate a scenario with p out of range" -- simulate --config "$TMP/bad.json" --out "$TMP/bad"
expect_grep "bad scenario: names the JSON path" "$TMP/err" 'lists\[0\]\.p'
[ -e "$TMP/bad" ] && not_ok "bad scenario left an output folder" || ok "bad scenario: no output folder"
printf '{"name": "x",\n  "population": }\n' >"$TMP/broken.json"
run 65 "simulate a scenario that is not JSON" -- simulate --config "$TMP/broken.json" --out "$TMP/bad"
expect_grep "broken JSON: file and line" "$TMP/err" 'broken\.json:2'

# Estimation error separated from linkage error: the true capture histories of a
# log-linear scenario give back N with the true model (A and B dependent, C not).
cat >"$TMP/ll.json" <<'EOF'
{"name": "loglinear", "seed": 17,
 "population": {"size": 20000, "citizenship": {"GB": 0.5, "RO": 0.5}, "country_of_exploitation": "GB"},
 "lists": [{"code": "A", "p": 0.2, "errors": "none"},
           {"code": "B", "p": 0.3, "errors": "none", "layout": "ngo"},
           {"code": "C", "p": 0.15, "errors": "none", "layout": "hotline"}],
 "dependence": [{"lists": ["A", "B"], "log_odds_ratio": 0.7}]}
EOF
run 0 "simulate a log-linear scenario" -- simulate --config "$TMP/ll.json" --out "$TMP/ll" --quiet
run 0 "estimate it with the true model A*B" -- estimate "$TMP/ll/captures.csv" --model "A*B" --json
expect_python "true model: N within 4 standard errors of 20000, interval covers it" '
import json, sys
e = json.load(open(sys.argv[1]))
est, se = e["estimate"], e["estimate_se"]
assert abs(est - 20000) < 4 * se, (est, se)
assert e["profile_lower"] < 20000 < e["profile_upper"], e
' "$TMP/out"

finish
