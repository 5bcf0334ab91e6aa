#!/bin/bash
# tests/cli/report_regional.sh: `rapporteur report` over three states' stores pooled
# (tests/fixtures/report: PL, DE and AT case records, imported here with the import CLI),
# regions from the shipped region table (data/regions/osce_regions.csv, UN M49
# sub-regions: PL in Eastern Europe, DE and AT in Western Europe). Checks: every published
# cell of the views all states, by state and by region equals the count made here from
# the CSVs; suppressed cells are x and only below k where primary; no line of any view
# (or region against its states) gives a hidden cell away by subtraction; the trends
# equal a Poisson fit made here on the published counts; the HTML report has the
# sections by state and by region and renders in headless Chromium; --state and --pool
# give the same tables; misuse is refused with the documented exit codes.

. "$(dirname "$0")/lib.bash"

FX="$RP_SRC/tests/fixtures/report"
REGIONS="$RP_SRC/data/regions/osce_regions.csv"
R="$TMP/regional"

for s in pl de at; do
    run 0 "init $s" -- init --store "$TMP/$s.db" --quiet
    run 0 "import $s" -- import "$FX/$s.csv" --mapping "$FX/mapping.json" --store "$TMP/$s.db" \
        --agency "agency-$s" --quiet
done
printf 'state,store,region\nPL,pl.db,\nDE,de.db,\nAT,at.db,\n' >"$TMP/pool.csv"

run 0 "regional report from a pool file" -- report --pool "$TMP/pool.csv" --regions "$REGIONS" \
    --out-dir "$R" --json
expect_python "report lists its states, views and trend files" '
import json, os, sys
r = json.load(open(sys.argv[1]))
states = {s["state"]: s for s in r["states"]}
assert set(states) == {"PL", "DE", "AT"}, r["states"]
assert states["PL"]["region"] == "Eastern Europe" and states["AT"]["region"] == "Western Europe"
# no exact count of a state is published (a state total may be suppressed in the tables)
assert all("units" not in st and st["unit"] == "records" for st in states.values()), states
stems = [t["stem"] for t in r["tables"]]
for want in ["01-year", "05-state-year", "06-region-year", "07-state-sex", "08-region-sex",
             "09-state-exploitation", "10-region-exploitation"]:
    assert want in stems, (want, stems)
for f in ["01-year-trend.csv", "01-year-trend.json", "05-state-year-trend.json",
          "06-region-year-trend.json", "05-state-year.png", "report.html", "report.xlsx"]:
    assert f in r["files"], f
assert "05-country-of-exploitation.csv" not in r["files"]  # nobody has one recorded
' "$TMP/out"

# The counts made here from the CSVs, independently of the import and the tables.
COUNT='
import csv, os
def counts(fx):
    region = {"PL": "Eastern Europe", "DE": "Western Europe", "AT": "Western Europe"}
    by = {}
    for st in ("pl", "de", "at"):
        for row in csv.DictReader(open(os.path.join(fx, st + ".csv"), newline="")):
            y = row["year"] or "Not recorded"
            sex = {"F": "female", "M": "male"}[row["sex"]]
            for key in ((st.upper(), y), (region[st.upper()], y), ("ALL", y),
                        (st.upper(), "Total"), (region[st.upper()], "Total"), ("ALL", "Total"),
                        ("sex", st.upper(), sex), ("sex", region[st.upper()], sex),
                        ("sex", "ALL", sex)):
                by[key] = by.get(key, 0) + 1
    return by
'

expect_python "views by state, by region and for all states equal counts from the CSVs" "$COUNT"'
import json, sys
by = counts(sys.argv[1])
names = {"Poland": "PL", "Germany": "DE", "Austria": "AT"}
k = 5
n_sup = 0
for stem, rows in (("01-year", None), ("05-state-year", "state"), ("06-region-year", "region")):
    t = json.load(open(sys.argv[2] + "/" + stem + ".json"))
    for c in t["cells"]:
        if rows is None:
            key = ("ALL", c["labels"][0])
        else:
            row = c["labels"][0]
            key = ("ALL" if row == "Total" else row, c["labels"][1])
        true = by.get(key, 0)
        assert c["status"] not in ("primary", "secondary"), c  # which is small stays unsaid
        if c["status"] == "suppressed":
            assert c["value"] is None, c
            n_sup += 1
        else:
            assert c["status"] == "published" and c["value"] == true, (stem, c, true)
            assert not (0 < true < k), (stem, c, true)
t = json.load(open(sys.argv[2] + "/07-state-sex.json"))
for c in t["cells"]:
    row = "ALL" if c["labels"][0] == "Total" else c["labels"][0]
    key = ("sex", row, c["labels"][1]) if c["labels"][1] != "Total" else (row, "Total")
    if c["value"] is not None:
        assert c["value"] == by.get(key, 0), (c, by.get(key, 0))
assert n_sup >= 3, n_sup  # AT 2019 (3) and its complements
' "$FX" "$R"

expect_python "no hidden cell is given away by subtraction along a line or a region" '
import json, sys
def grid(stem):
    t = json.load(open(sys.argv[1] + "/" + stem + ".json"))
    g = {}
    for c in t["cells"]:
        g[tuple(c["labels"])] = c["value"]
    return t, g
t, st = grid("05-state-year")
_, rg = grid("06-region-year")
rows = t["dims"][0]["categories"] + ["Total"]
cols = t["dims"][1]["categories"] + ["Total"]
rows = ["Total" if r == "Total" else r for r in rows]
def lab(x):
    return {"": "Not recorded"}.get(x, x)
cols = [lab(c) for c in cols]
for r in rows:  # along each state row
    line = [st[(r, c)] for c in cols]
    assert sum(v is None for v in line) != 1, (r, line)
for c in cols:  # down each year column
    line = [st[(r, c)] for r in rows]
    assert sum(v is None for v in line) != 1, (c, line)
members = {"Western Europe": ["DE", "AT"], "Eastern Europe": ["PL"]}
for reg, sts in members.items():  # a region against its states
    for c in cols:
        line = [rg[(reg, c)]] + [st[(s, c)] for s in sts]
        assert sum(v is None for v in line) != 1, (reg, c, line)
' "$R"

expect_python "trends: a Poisson fit made here on the published counts, by state too" '
import json, math, sys
def poisson(years, ys):
    pts = [(y, v) for y, v in zip(years, ys) if v is not None]
    m = sum(y for y, _ in pts) / len(pts)
    x = [y - m for y, _ in pts]; c = [v for _, v in pts]
    b = 0.0
    for _ in range(100):  # Newton on the profile log-likelihood, as the docs say
        w = [math.exp(b * xi) for xi in x]; s0 = sum(w)
        m1 = sum(wi * xi for wi, xi in zip(w, x)) / s0
        m2 = sum(wi * xi * xi for wi, xi in zip(w, x)) / s0
        S = sum(c); g = sum(ci * xi for ci, xi in zip(c, x)) - S * m1
        b += g / (S * (m2 - m1 * m1))
    return 100 * (math.exp(b) - 1), len(pts)
for stem in ("01-year", "05-state-year", "06-region-year"):
    for tr in json.load(open(sys.argv[1] + "/" + stem + "-trend.json")):
        years = [p["year"] for p in tr["years"]]
        vals = [p["value"] for p in tr["years"]]
        pct, n = poisson(years, vals)
        got = tr["trend"]
        assert abs(got["avg_change_pct"] - pct) < 1e-6, (stem, tr["label"], got, pct)
        assert got["years_fitted"] == n >= 3 and got["ci_lower_pct"] < pct < got["ci_upper_pct"]
        assert tr["method"].startswith("Poisson log-linear regression"), tr["method"]
        for p in tr["years"][1:]:
            prev = [q for q in tr["years"] if q["year"] == p["year"] - 1][0]
            if p["value"] is not None and prev["value"] is not None:
                assert p["change"] == p["value"] - prev["value"], p
all_ = json.load(open(sys.argv[1] + "/01-year-trend.json"))
assert all_[0]["label"] == "All states" and all_[0]["trend"]["years_fitted"] == 4, all_
labels = [t["label"] for t in json.load(open(sys.argv[1] + "/05-state-year-trend.json"))]
assert labels == ["Poland"], labels  # AT and DE: too few published years
' "$R"

expect_python "HTML: sections by state and by region, the trend, no script" '
import re, sys
html = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
assert "<script" not in html
for want in ["Case records by state and year of registration",
             "Case records by region and year of registration",
             "Case records by state and form of exploitation",
             "<th scope=\"row\">Poland</th>", "<th scope=\"row\">Western Europe</th>",
             "Change on the year before", "<strong>All states:</strong> average annual change",
             "Poisson log-linear trend (profile-likelihood interval) over 2019-2022",
             "too few published years", "in 3 states and by state and region (Poland, Germany, Austria)",
             "Grouping" if False else "Regions: grouping &#39;un_m49_subregion&#39;",
             "protected jointly (linked tables)", "Trend: average annual change"]:
    assert want in html, want
' "$R"

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROMIUM" ]; then
    not_ok "render the regional HTML report with headless Chromium" \
        "chromium not found: it is a test dependency (scripts/deps.txt); run scripts/install-deps"
else
    mkdir -p "$TMP/chromium-home"
    if HOME="$TMP/chromium-home" timeout 120 "$CHROMIUM" --headless --disable-gpu --no-sandbox \
        --hide-scrollbars --user-data-dir="$TMP/chromium-home/profile" \
        --screenshot="$TMP/regional.png" --window-size=1200,3000 "file://$R/report.html" \
        >"$TMP/chromium.log" 2>&1 && [ -s "$TMP/regional.png" ]; then
        ok "render the regional HTML report with headless Chromium"
        expect_python "rendered PNG is 1200 x 3000 and not blank" '
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1200, 3000), (w, h)
assert len(data) > 100000, len(data)  # text, tables and a chart, not an empty page
' "$TMP/regional.png"
    else
        not_ok "render the regional HTML report with headless Chromium" "$(tail -5 "$TMP/chromium.log")"
    fi
fi

run 0 "the same report from --state" -- report --state "PL=$TMP/pl.db" --state "DE=$TMP/de.db" \
    --state "AT=$TMP/at.db" --regions "$REGIONS" --format csv --out-dir "$TMP/r2" --quiet
expect_python "--state and --pool give the same tables" '
import filecmp, os, sys
a, b = sys.argv[1], sys.argv[2]
csvs = sorted(f for f in os.listdir(b) if f.endswith(".csv"))
assert len(csvs) >= 12, csvs
for f in csvs:
    assert filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False), f
' "$R" "$TMP/r2"

run 0 "grouping eu" -- report --pool "$TMP/pool.csv" --regions "$REGIONS" --grouping eu \
    --format csv --out-dir "$TMP/r3" --json
expect_python "grouping eu: all three in one region, so no view by region" '
import json, os, sys
r = json.load(open(sys.argv[1]))
assert {s["region"] for s in r["states"]} == {"EU member State"}, r["states"]
assert not any("region-" in f for f in r["files"]), r["files"]
' "$TMP/out"

run 0 "no region table: one region" -- report --pool "$TMP/pool.csv" --format csv \
    --out-dir "$TMP/r4" --quiet
expect_python "one region: no view by region" '
import os, sys
fs = os.listdir(sys.argv[1])
assert any("state-year" in f for f in fs) and not any("region-" in f for f in fs), fs
' "$TMP/r4"

run 0 "rounded regional report" -- report --pool "$TMP/pool.csv" --round 10 --format csv \
    --out-dir "$TMP/r5" --quiet
expect_python "rounded: every count a multiple of 10" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1] + "/05-state-year.csv", newline="")))
vals = [v for r in rows[2:6] for v in r[1:]]
assert vals and all(int(v) % 10 == 0 for v in vals), vals
' "$TMP/r5"

run 2 "--store with --state" -- report --store "$TMP/pl.db" --state "PL=$TMP/pl.db" \
    --out-dir "$TMP/bad"
run 2 "--grouping needs --regions" -- report --pool "$TMP/pool.csv" --grouping eu \
    --out-dir "$TMP/bad"
run 2 "--regions needs states" -- report --store "$TMP/pl.db" --regions "$REGIONS" \
    --out-dir "$TMP/bad"
run 2 "a state code is CODE=FILE" -- report --state "$TMP/pl.db" --out-dir "$TMP/bad"
expect_grep "says CODE=FILE" "$TMP/err" "expected CODE=FILE"
run 2 "a state given twice" -- report --state "PL=$TMP/pl.db" --state "PL=$TMP/de.db" \
    --out-dir "$TMP/bad"
expect_grep "says twice" "$TMP/err" "given twice"
run 2 "no such grouping" -- report --pool "$TMP/pool.csv" --regions "$REGIONS" --grouping nope \
    --out-dir "$TMP/bad"
printf 'state,store\nXX,pl.db\n' >"$TMP/pool-xx.csv"
run 2 "a state not in the region table" -- report --pool "$TMP/pool-xx.csv" --regions "$REGIONS" \
    --out-dir "$TMP/bad"
expect_grep "names the state" "$TMP/err" "no region for state 'XX'"
printf 'state,store\nPL,"pl.db\n' >"$TMP/pool-bad.csv"
run 65 "a broken pool file" -- report --pool "$TMP/pool-bad.csv" --out-dir "$TMP/bad"
expect_grep "with line and column" "$TMP/err" "pool-bad.csv:2:4"
run 4 "a missing store" -- report --state "PL=$TMP/none.db" --out-dir "$TMP/bad"
expect_grep "names the state" "$TMP/err" "state 'PL'"
[ ! -e "$TMP/bad" ] && ok "nothing written on failure" || not_ok "nothing written on failure"

finish
