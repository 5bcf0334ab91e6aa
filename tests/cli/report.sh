#!/bin/bash
# tests/cli/report.sh: `rapporteur report` on the CTDC global dataset (data/ctdc). The
# report's tables agree with counts computed here from the CSV; no suppressed value
# appears in the HTML, the workbook or the CSV; the HTML is self-contained and
# accessible (lang, <caption>, <th scope>, SVG <title>/<desc>, no script); headless
# Chromium renders it to a PNG that is checked for size and content (not blank, the
# charts' Okabe-Ito blue present); the charts' PNGs are checked the same way; the output
# directory is replaced whole, and a directory that is not a report is refused; the trend
# by year is fitted to the published counts (quasi-Poisson on this over-dispersed series),
# and a store of linked persons (tests/fixtures/report/linked.csv) gets the trend of its
# yearly estimates.
#
# Chromium is a declared dependency (scripts/deps.txt, installed by scripts/install-deps):
# when it is missing the test fails with a message saying so rather than skipping, so
# that CI never passes without having rendered the HTML report.

. "$(dirname "$0")/lib.bash"

CSV="$RP_SRC/data/ctdc/ctdc_global_dataset_2018_kanon.csv"
MAPPING="$RP_SRC/data/mappings/ctdc.json"
S="$TMP/ctdc.db"
R="$TMP/report"

run 0 "report --help" -- report --help
expect_grep "help names the options" "$TMP/out" "--dp-epsilon"

run 0 "init" -- init --store "$S" --quiet
run 0 "import CTDC" -- import "$CSV" --mapping "$MAPPING" --store "$S" --agency IOM --quiet

# k = 30 so that citizenship and country tables have suppressed cells on this data.
run 0 "report with k = 30" -- report --store "$S" --out-dir "$R" --k 30 --json
expect_python "report lists its files, six tables" '
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["out_dir"] == sys.argv[2], r
assert len(r["tables"]) == 6, r["tables"]
assert r["estimates"] is False, r  # CTDC has no linked persons
for f in ["report.html", "report.xlsx", "01-year.csv", "01-year.json", "01-year.svg",
          "01-year.png", "01-year.pdf", "03-citizenship.png", "04-exploitation.svg"]:
    assert f in r["files"], f
for f in r["files"]:
    assert os.path.getsize(os.path.join(sys.argv[2], f)) > 0, f
assert not [d for d in os.listdir(os.path.dirname(sys.argv[2])) if ".tmp-" in d]
' "$TMP/out" "$R"

expect_python "tables agree with counts computed from the CSV; suppressed cells are x" '
import collections, csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
def coded(v):
    v = v.strip()
    return "" if v in ("", "-99", "Missing") else ("unknown" if v == "Unknown" else v)
years = collections.Counter(coded(r["yearOfRegistration"]) for r in rows)
cit = collections.Counter(coded(r["citizenship"]) for r in rows)
for stem, want in (("01-year", years), ("03-citizenship", cit)):
    t = json.load(open(sys.argv[2] + "/" + stem + ".json"))
    n_sup = 0
    for c in t["cells"]:
        label = {"Not recorded": "", "Unknown": "unknown"}.get(c["labels"][0], c["labels"][0])
        true = sum(want.values()) if label is None or label == "Total" else want.get(label, 0)
        assert c["status"] not in ("primary", "secondary"), c  # which is small stays unsaid
        if c["status"] == "suppressed":
            assert c["value"] is None, c
            n_sup += 1
        else:
            assert c["value"] == true, (stem, c, true)
    if stem == "03-citizenship":
        assert n_sup >= 5, n_sup
' "$CSV" "$R"

expect_python "HTML: accessible, self-contained, no suppressed value" '
import csv, json, re, sys
html = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">"), html[:60]
assert "<script" not in html and "<link" not in html and "<img" not in html
assert not re.search(r"(src|href)=\"(https?:)?//", html), "external resource"
for want in ["<title>Trafficking in human beings: patterns and trends</title>",
             "<h2 id=\"s1-h\">Case records by year of registration</h2>",
             "<caption id=\"s3-cap\">Case records by citizenship",
             "<th scope=\"col\">Year of registration</th>", "<th scope=\"row\">Philippines</th>",
             "<title id=\"s1-chart-title\">Case records by year of registration</title>",
             "Horizontal axis: Year of registration. Vertical axis: Number of records",
             "Source: IOM (ctdc_global_dataset_2018_kanon.csv)", "<h2 id=\"method-h\">Method</h2>",
             "<meta name=\"viewport\""]:
    assert want in html, want
method = html[html.index("<h2 id=\"method-h\">"):]
assert "the tables are protected jointly, as linked tables" in method, method[:2000]
# every suppressed citizenship is an x in the HTML, and its true count is nowhere in that
# section (published cells there are all >= 30)
rows = list(csv.DictReader(open(sys.argv[2], newline="", encoding="utf-8")))
t = json.load(open(sys.argv[1] + "/03-citizenship.json"))
sup = [c["labels"][0] for c in t["cells"] if c["value"] is None]
sec = html[html.index("<section aria-labelledby=\"s3-h\">"):]
sec = sec[:sec.index("</section>")]
table = sec[sec.index("<table>"):]
assert table.count("class=\"sup") == len(sup), (table.count("class=\"sup"), sup)
published = set(re.findall(r"<td(?: class=\"total\")?>([0-9,]+)</td>", table))
for code in sup:
    true = sum(1 for r in rows if r["citizenship"].strip() == code)
    assert f"{true:,}" not in published or true >= 30, (code, true)
' "$R" "$CSV"

expect_python "workbook: one sheet per table, Notes, x for suppressed cells" '
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1] + "/report.xlsx")
wb = z.read("xl/workbook.xml").decode()
names = re.findall(r"<sheet name=\"([^\"]+)\"", wb)
assert len(names) == 7 and names[-1] == "Notes", names
strings = z.read("xl/sharedStrings.xml").decode()
assert "<t>x</t>" in strings and "Case records by citizenship" in strings
assert "pane" in z.read("xl/worksheets/sheet1.xml").decode()  # frozen header
' "$R"

expect_python "CTDC: the trend by year is fitted to the published counts, quasi-Poisson" '
import csv, json, math, sys
t = json.load(open(sys.argv[1] + "/01-year.json"))
tr = json.load(open(sys.argv[1] + "/01-year-trend.json"))[0]
pub = {c["labels"][0]: c["value"] for c in t["cells"]}
for p in tr["years"]:
    assert p["value"] == pub[str(p["year"])], p
g = tr["trend"]
assert g["dispersion"] > 10, g  # yearly counts vary far more than Poisson counts
# the SE beside the quasi-Poisson interval is the quasi-Poisson one: Poisson SE x sqrt(phi)
assert math.isclose(g["slope_se"], g["slope_se_poisson"] * math.sqrt(g["dispersion"]),
                    rel_tol=1e-8), g
assert g["ci_lower_pct"] < g["avg_change_pct"] < g["ci_upper_pct"], g
assert g["ci_upper_pct"] - g["ci_lower_pct"] > 5, g  # widened, not the Poisson +-0.3%
assert "quasi-Poisson" in tr["method"], tr["method"]
html = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
for want in ["Change on the year before", "<strong>All:</strong> average annual change",
             "(quasi-Poisson)", "Trend: average annual change"]:
    assert want in html, want
' "$R"

# ---- rendering: the chart PNGs and the HTML report through headless Chromium ----

# PNG_CHECK FILE WIDTH MIN_HEIGHT [ROWS]: a PNG of that width, not blank, with the bars'
# Okabe-Ito blue, in its first ROWS rows (default all). A PNG decoder in Python's standard
# library (zlib + the five PNG filters), so that no imaging package is needed.
PNG_CHECK='
import struct, sys, zlib
path, want_w, min_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert w == want_w and h >= min_h, (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
inked = blue = 0
colours = set()
rows = min(h, int(sys.argv[4])) if len(sys.argv) > 4 else h  # filters need only rows above
for y in range(rows):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((u + v) & 255 for u, v in zip(line, prev))
    elif f == 3:
        for i in range(stride):
            line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp * 2):  # every other pixel is enough
        px = bytes(line[x:x + 3])
        if px != b"\xff\xff\xff":
            inked += 1
        if abs(px[0] - 0) < 8 and abs(px[1] - 114) < 8 and abs(px[2] - 178) < 8:
            blue += 1
        if len(colours) < 64:
            colours.add(px)
total = (w // 2) * rows
assert inked * 50 > total, ("blank?", inked, total)
assert blue > 200, ("no bars in Okabe-Ito blue", blue)
assert len(colours) >= 16, ("too few colours", len(colours))
'

expect_python "chart PNG: trend by year" "$PNG_CHECK" "$R/01-year.png" 1080 600
expect_python "chart PNG: citizenship" "$PNG_CHECK" "$R/03-citizenship.png" 1080 400

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROMIUM" ]; then
    not_ok "render the HTML report with headless Chromium" \
        "chromium not found: it is a test dependency (scripts/deps.txt); run scripts/install-deps"
else
    mkdir -p "$TMP/chromium-home"
    if HOME="$TMP/chromium-home" timeout 120 "$CHROMIUM" --headless --disable-gpu --no-sandbox \
        --hide-scrollbars --user-data-dir="$TMP/chromium-home/profile" \
        --screenshot="$TMP/report.png" --window-size=1200,3000 "file://$R/report.html" \
        >"$TMP/chromium.log" 2>&1 && [ -s "$TMP/report.png" ]; then
        ok "render the HTML report with headless Chromium"
        expect_python "HTML report PNG: 1200 x 3000, not blank, charts drawn" "$PNG_CHECK" \
            "$TMP/report.png" 1200 3000 1400
    else
        not_ok "render the HTML report with headless Chromium" "$(tail -5 "$TMP/chromium.log")"
    fi
fi

# ---- the output directory ----

run 0 "a second report replaces the first" -- report --store "$S" --out-dir "$R" \
    --format html,csv --quiet
expect_python "only the new files are there" '
import os, sys
got = sorted(f for f in os.listdir(sys.argv[1]) if not f.startswith("."))
assert "report.html" in got and "report.xlsx" not in got and not any(f.endswith(".png") for f in got), got
' "$R"

mkdir -p "$TMP/precious"
echo keep >"$TMP/precious/notes.txt"
run 2 "a directory that is not a report is refused" -- report --store "$S" --out-dir "$TMP/precious"
expect_grep "refusal says why" "$TMP/err" "is not an earlier report"
expect_grep "its file is untouched" "$TMP/precious/notes.txt" "^keep$"

expect_python "sources name the data but publish no count" '
import re, sys
html = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
src = html[html.index("<h2 id=\"sources-h\">"):]
src = src[:src.index("</section>")]
assert "IOM: ctdc_global_dataset_2018_kanon.csv (imported " in src, src
assert "Store ctdc.db." in src, src
assert "rows read" not in src and "stored" not in src and "set aside" not in src, src
assert not re.search(r"[0-9],[0-9]{3}|: [0-9]+ (records|persons)", src), src
' "$R"

run 2 "--round and --dp-epsilon exclude each other" -- report --store "$S" --round 5 \
    --dp-epsilon 1 --out-dir "$TMP/r2"
run 2 "--k 1 is refused: it suppresses nothing" -- report --store "$S" --k 1 --out-dir "$TMP/r2"
expect_grep "--k 1 refusal says why" "$TMP/err" "from 2 to"
run 2 "--round 1 is refused: it publishes the counts" -- report --store "$S" --round 1 \
    --out-dir "$TMP/r2"
run 2 "--k with --round is refused" -- report --store "$S" --k 5 --round 10 --out-dir "$TMP/r2"
run 2 "--k with --kround is refused" -- report --store "$S" --k 5 --kround 10 --out-dir "$TMP/r2"
run 2 "--kround 1 is refused" -- report --store "$S" --kround 1 --out-dir "$TMP/r2"
run 2 "--dp-epsilon above 10 needs --dp-allow-large" -- report --store "$S" --dp-epsilon 20 \
    --out-dir "$TMP/r2"
expect_grep "large epsilon refusal says why" "$TMP/err" "dp-allow-large"
run 2 "--dp-budget needs --dp-epsilon" -- report --store "$S" --dp-budget 3 --out-dir "$TMP/r2"
run 0 "k-rounded report (CTDC)" -- report --store "$S" --kround 50 --format csv,json \
    --out-dir "$TMP/r4" --quiet
expect_python "k-rounded counts are multiples of 50, cells below 50 hidden" '
import json, sys
t = json.load(open(sys.argv[1] + "/03-citizenship.json"))
vals = [c["value"] for c in t["cells"] if c["value"] is not None]
assert vals and all(v % 50 == 0 for v in vals), vals
assert any(c["status"] == "suppressed" for c in t["cells"]), t["cells"]
' "$TMP/r4"
run 2 "unknown format" -- report --store "$S" --format html,gif --out-dir "$TMP/r2"
run 2 "bad k" -- report --store "$S" --k 0 --out-dir "$TMP/r2"
run 4 "missing store" -- report --store "$TMP/none.db" --out-dir "$TMP/r2"

run 0 "rounded report" -- report --store "$S" --round 10 --format csv --out-dir "$TMP/r3" --quiet
expect_python "rounded counts are multiples of 10" '
import csv, sys
rows = list(csv.reader(open(sys.argv[1] + "/01-year.csv", newline="")))
vals = [r[1] for r in rows[2:] if len(r) > 1 and r[1] not in ("", "x") and r[1].isdigit()]
assert vals and all(int(v) % 10 == 0 for v in vals), vals
' "$TMP/r3"

# ---- the trend of the estimates ----

L="$TMP/linked.db"
run 0 "init linked" -- init --store "$L" --quiet
run 0 "import linked persons on three lists" -- import "$RP_SRC/tests/fixtures/report/linked.csv" \
    --mapping "$RP_SRC/tests/fixtures/store/mapping.json" --store "$L" --quiet
run 0 "report with estimates" -- report --store "$L" --out-dir "$TMP/lr" --json
expect_python "the trend of the yearly estimates is published" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["estimates"] is True and "estimate-trend.json" in r["files"], r
tr = json.load(open(sys.argv[2] + "/estimate-trend.json"))[0]
assert tr["label"] == "estimated total" and tr["method"].startswith("weighted log-linear"), tr
g = tr["trend"]
# the simulated populations are 300, 360, 420, 500: about +18.6% a year
assert g["years_fitted"] == 4 and g["ci_lower_pct"] < 18.6 < g["ci_upper_pct"], g
html = open(sys.argv[2] + "/report.html", encoding="utf-8").read()
assert "<strong>Trend of the estimated total:</strong> average annual change" in html
' "$TMP/out" "$TMP/lr"

# k = 210: 2019 (203 persons) is below k and 2020 is withheld to protect it; the estimate
# table shows neither year's count, estimate nor interval, and the counts it shows are the
# year table's published ones.
run 0 "report with estimates, k = 210" -- report --store "$L" --out-dir "$TMP/lk" --k 210 \
    --format html,json --quiet
expect_python "the estimate table hides what the year table hides, alike" '
import json, re, sys
t = json.load(open(sys.argv[1] + "/01-year.json"))
pub = {c["labels"][0]: c["value"] for c in t["cells"]}
assert pub["2019"] is None and pub["2020"] is None, pub
html = open(sys.argv[1] + "/report.html", encoding="utf-8").read()
est = html[html.index("id=\"est-h"):]
rows = dict(re.findall(r"<tr><th scope=\"row\">(\w+)</th>(.*?)</tr>", est))
for y, v in pub.items():
    row = rows["All" if y == "Total" else y]
    cells = re.findall(r"<td[^>]*>([^<]*)", row)
    if v is None:
        assert cells == ["x"] * 4, (y, row)
    else:
        assert cells[0] == f"{v:,}", (y, cells, v)
assert "not estimable" not in est[:est.index("</table>")]
' "$TMP/lk"

# differential privacy: nothing exact beside the noise (no estimate), the budget capped
run 2 "--dp-epsilon needs --years" -- report --store "$L" --out-dir "$TMP/ldp" --dp-epsilon 0.5
expect_grep "the refusal names --years" "$TMP/err" "--years FROM:TO"
run 2 "--years needs --dp-epsilon" -- report --store "$L" --out-dir "$TMP/ldp" --years 2018:2023
run 2 "--years FROM after TO" -- report --store "$L" --out-dir "$TMP/ldp" --dp-epsilon 0.5 \
    --years 2023:2018
run 0 "DP report" -- report --store "$L" --out-dir "$TMP/ldp" --dp-epsilon 0.5 --json \
    --format html,json --years 2018:2023
expect_python "DP: every year of --years, no country table, a note says why" '
import json, sys
r = json.load(open(sys.argv[1]))
assert not any("citizenship" in f or "country" in f for f in r["files"]), r["files"]
t = json.load(open(sys.argv[2] + "/01-year.json"))
years = sorted({c["labels"][0] for c in t["cells"]} - {"Total"})
assert years == [str(y) for y in range(2018, 2024)], years
html = open(sys.argv[2] + "/report.html", encoding="utf-8").read()
assert "tables of citizenship and country of exploitation are left out" in html
' "$TMP/out" "$TMP/ldp"
expect_python "DP: no estimate, the running budget in --json and in the method" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["estimates"] is False and "estimate-trend.json" not in r["files"], r
b = r["privacy_budget"]
assert abs(b["epsilon_report"] - 0.5 * len(r["tables"])) < 1e-9 and b["epsilon_cap"] == 10, b
assert abs(b["epsilon_spent"] - b["epsilon_report"]) < 1e-9, b
html = open(sys.argv[2] + "/report.html", encoding="utf-8").read()
assert "the store has now spent" in html and "id=\"est-h" not in html
' "$TMP/out" "$TMP/ldp"
run 4 "DP: a report over the cap is refused" -- report --store "$L" --out-dir "$TMP/ldp2" \
    --dp-epsilon 0.5 --dp-budget 3 --years 2018:2023
expect_grep "refusal names the cap" "$TMP/err" "budget exceeded"

finish
