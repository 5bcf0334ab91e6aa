#!/bin/bash
# tests/cli/estimate_json.sh: `rapporteur estimate --json` on the reference data sets.
# Every tests/golden/*.json (reference values from ../shared/data/mse/README.md, cited in
# each file) is checked, then the JSON keys, hand-checked small cases (Lincoln-Petersen,
# Chapman, Chao), strata, the bootstrap's reproducibility, --out and the table.

. "$(dirname "$0")/lib.bash"

HERE=$(cd "$(dirname "$0")" && pwd)

# ==== golden files ====
for g in "$GOLDEN"/*.json; do
    name=$(basename "$g" .json)
    file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["_file"])' "$g")
    mapfile -t args < <(python3 -c '
import json, sys
for a in json.load(open(sys.argv[1])).get("_args", []):
    print(a)' "$g")
    if run 0 "golden $name" -- estimate "$FIXTURES/$file" --json "${args[@]}"; then
        cp "$TMP/out" "$TMP/$name.json"
        if msg=$(python3 "$HERE/golden_compare.py" "$g" "$TMP/$name.json" 2>&1); then
            ok "golden $name matches"
        else
            not_ok "golden $name matches" "$msg"
        fi
    fi
done

# ==== keys and types ====
run 0 "Korea --json" -- estimate "$FIXTURES/Korea.csv" --json
cp "$TMP/out" "$TMP/korea.json"
expect_python "Korea: every documented key, with the right types" '
import json, sys
r = json.load(open(sys.argv[1]))
need = ["observed", "estimate", "ci_lower", "ci_upper", "ci_level", "method", "model",
        "profile_lower", "profile_upper", "deviance", "df", "aic", "bic", "lists",
        "infinite_terms", "runners_up", "excluded", "n_models", "n_excluded", "chapman",
        "chao_lower_bound", "notes", "strata"]
missing = [k for k in need if k not in r]
assert not missing, missing
assert "bca_lower" not in r and "bca_upper" not in r, "BCa keys without --bootstrap"
assert "total" not in r, "total without --by"
assert r["strata"] == []
assert all(isinstance(t, str) for t in r["model"])
assert all(set(l) >= {"name", "size"} for l in r["lists"])
for x in r["runners_up"]:
    assert set(x) >= {"model", "estimate", "aic", "bic", "delta"}, x
    assert abs(x["delta"] - (x["estimate"] - r["estimate"])) <= 1e-6 * r["estimate"], x
for x in r["excluded"]:
    assert set(x) >= {"model", "reason"}, x
assert r["chapman"] is None, "Chapman is for two lists only"
assert r["ci_lower"] < r["estimate"] < r["ci_upper"]
assert r["profile_lower"] < r["estimate"] < r["profile_upper"]
assert r["n_models"] >= len(r["runners_up"]) + 1
' "$TMP/korea.json"

# Chao (1987): n + f1^2 / (2 f2), in its form for t = 3 occasions with the factor
# (t - 1)/t (Rcapture's "LB"); Korea has f1 = 5 + 5 + 41 = 51 and f2 = 54 + 6 = 60.
expect_python "Korea: Chao lower bound 123 + (2/3) 51^2/120" '
import json, sys
r = json.load(open(sys.argv[1]))
want = 123 + (2 / 3) * 51 * 51 / 120
assert abs(r["chao_lower_bound"] - want) <= 1e-9 * want, (r["chao_lower_bound"], want)
' "$TMP/korea.json"

run 0 "Korea --no-profile" -- estimate "$FIXTURES/Korea.csv" --json --no-profile
expect_python "--no-profile gives null profile ends" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["profile_lower"] is None and r["profile_upper"] is None, r
' "$TMP/out"

# ==== two lists: Lincoln-Petersen and Chapman by hand ====
# n1 = 40, n2 = 30, m = 10: the log-linear MLE is n1 n2 / m = 120 and Chapman's estimator
# (n1 + 1)(n2 + 1)/(m + 1) - 1 = 1271/11 - 1.
printf 'A,B,count\n1,0,30\n0,1,20\n1,1,10\n' >"$TMP/two.csv"
run 0 "two lists" -- estimate "$TMP/two.csv" --json
expect_python "two lists: Lincoln-Petersen 120 and Chapman 1271/11 - 1" '
import json, sys
r = json.load(open(sys.argv[1]))
assert abs(r["estimate"] - 120) <= 1e-6 * 120, r["estimate"]
ch = 1271 / 11 - 1
assert abs(r["chapman"] - ch) <= 1e-9 * ch, r["chapman"]
assert r["model"] == [], r["model"]
assert r["observed"] == 60
' "$TMP/out"

# --lists keeps b and c of Korea: n_b = 77, n_c = 71, m = 54 + 12 = 66, observed 82.
run 0 "Korea --lists b,c" -- estimate "$FIXTURES/Korea.csv" --lists b,c --json
expect_python "--lists b,c: Lincoln-Petersen 77 * 71 / 66" '
import json, sys
r = json.load(open(sys.argv[1]))
assert [l["name"] for l in r["lists"]] == ["b", "c"], r["lists"]
assert r["observed"] == 82, r["observed"]
want = 77 * 71 / 66
assert abs(r["estimate"] - want) <= 1e-6 * want, (r["estimate"], want)
' "$TMP/out"

# ==== person form and strata ====
# Korea expanded to one row per person, with a year column splitting it in two.
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
w = csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n")
w.writerow(["year", "b", "c", "d"])
k = 0
for r in rows:
    for _ in range(int(r["count"])):
        w.writerow([2019 + k % 2, r["b"], r["c"], r["d"]])
        k += 1
' "$FIXTURES/Korea.csv" "$TMP/korea_people.csv"
cut -d, -f2- "$TMP/korea_people.csv" >"$TMP/korea_people_nostrata.csv"

run 0 "person form" -- estimate "$TMP/korea_people_nostrata.csv" --json
expect_python "person form gives the aggregated result" '
import json, sys
p, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert p["form"] == "person", p["form"]
assert p["observed"] == a["observed"] and p["model"] == a["model"]
assert abs(p["estimate"] - a["estimate"]) <= 1e-9 * a["estimate"]
' "$TMP/out" "$TMP/korea.json"

run 0 "--by year" -- estimate "$TMP/korea_people.csv" --by year --json
cp "$TMP/out" "$TMP/strata.json"
expect_python "--by year: two strata, their sum and the pooled estimate" '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["strata"]
assert [x["stratum"] for x in s] == ["year=2019", "year=2020"], [x["stratum"] for x in s]
assert sum(x["observed"] for x in s) == r["observed"] == 123
for x in s:
    assert "model" in x and "ci_lower" in x and "notes" in x, x.keys()
t = r["total"]
assert set(t) >= {"estimate", "ci_lower", "ci_upper", "ci_level"}, t
if all(x["estimate"] is not None for x in s):
    want = sum(x["estimate"] for x in s)
    assert abs(t["estimate"] - want) <= 1e-6 * want, (t["estimate"], want)
    assert t["ci_lower"] <= t["estimate"] <= t["ci_upper"]
assert [l["name"] for l in r["lists"]] == ["b", "c", "d"]
' "$TMP/strata.json"

run 0 "--by year, table" -- estimate "$TMP/korea_people.csv" --by year
expect_grep "--by table has a block per stratum" "$TMP/out" '^== Stratum year=2019 =='
expect_grep "--by table has the sum of strata" "$TMP/out" 'sum of strata'

# ==== bootstrap ====
run 0 "Korea --bootstrap 200 --seed 7" -- estimate "$FIXTURES/Korea.csv" --json \
    --bootstrap 200 --seed 7
cp "$TMP/out" "$TMP/boot1.json"
run 0 "Korea --bootstrap 200 --seed 7 again" -- estimate "$FIXTURES/Korea.csv" --json \
    --bootstrap 200 --seed 7
expect_python "bootstrap: BCa keys, interval around the estimate, reproducible" '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b, "same seed, different output"
assert a["bca_lower"] is not None and a["bca_upper"] is not None, a
assert a["bca_lower"] <= a["estimate"] <= a["bca_upper"], (a["bca_lower"], a["bca_upper"])
assert a["n_boot"] == 200
' "$TMP/boot1.json" "$TMP/out"

# ==== --out, --quiet and the table ====
run 0 "--out with --json" -- estimate "$FIXTURES/Korea.csv" --json --out "$TMP/k.json"
expect_python "--out holds the same JSON as stdout" '
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))
' "$TMP/out" "$TMP/k.json"
run 0 "--out --quiet" -- estimate "$FIXTURES/Korea.csv" --quiet --out "$TMP/q.json"
if [ -s "$TMP/out" ] || [ -s "$TMP/err" ]; then
    not_ok "--quiet prints nothing" "$(head -c 300 "$TMP/out" "$TMP/err")"
else
    ok "--quiet prints nothing"
fi
expect_python "--quiet --out still writes the JSON" '
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))
' "$TMP/k.json" "$TMP/q.json"

run 0 "Korea table" -- estimate "$FIXTURES/Korea.csv"
expect_grep "table shows the estimate" "$TMP/out" '^Estimate +268\.[0-9]'
expect_grep "table shows the model" "$TMP/out" '^Model +b:c'
expect_grep "table shows the interval" "$TMP/out" '^95% interval'
expect_grep "table shows the stepwise path" "$TMP/out" '^Earlier steps'
expect_grep "table shows the BIC alternative" "$TMP/out" '^Under BIC search +157.2 '
if [ -s "$TMP/err" ]; then
    not_ok "no progress output when stderr is not a terminal" "$(head -c 300 "$TMP/err")"
else
    ok "no progress output when stderr is not a terminal"
fi

run 2 "--model with an unknown list" -- estimate "$FIXTURES/Korea.csv" --model "b*zz"
run 2 "--lists with an unknown list" -- estimate "$FIXTURES/Korea.csv" --lists b,zz

finish
