#!/bin/bash
# tests/cli/report_outdir.sh: `rapporteur report` on a small store of linked persons
# (tests/fixtures/report/linked.csv): the output directory is exchanged with the earlier
# report in one step (renameat2 RENAME_EXCHANGE, seen with strace where it can trace) and
# a file no report wrote stops the report (exit 4, the file named and kept) unless
# --force; --by titles are worded as the standard ones; a rounded report shows no legend
# for a mark it does not use; numbers in the Method text have thousands separators.

. "$(dirname "$0")/lib.bash"

S="$TMP/linked.db"
R="$TMP/report"

run 0 "init" -- init --store "$S" --quiet
run 0 "import linked persons" -- import "$RP_SRC/tests/fixtures/report/linked.csv" \
    --mapping "$RP_SRC/tests/fixtures/store/mapping.json" --store "$S" --quiet

run 0 "report --help" -- report --help
expect_grep "help names --force" "$TMP/out" "--force"

# ---- --by titles: as the standard tables' titles ----

run 0 "report with --by" -- report --store "$S" --out-dir "$R" --format csv,json --json \
    --by sex,age_band,citizenship --by registration_year,sex
expect_python "--by titles follow the standard titles" '
import json, sys
r = json.load(open(sys.argv[1]))
titles = [t["title"] for t in r["tables"]]
assert "Victims by year of registration" in titles, titles
assert "Victims by sex, age band and citizenship" in titles, titles
assert "Victims by year of registration and sex" in titles, titles
' "$TMP/out"
expect_python "the marker lists the files the report wrote" '
import json, sys
r = json.load(open(sys.argv[1]))
lines = open(sys.argv[2] + "/.rapporteur-report").read().splitlines()
listed = sorted(l[5:] for l in lines if l.startswith("file "))
assert listed == sorted(r["files"]), (listed, r["files"])
' "$TMP/out" "$R"

# ---- the output directory: one exchange, and files the report did not write ----

if strace -f -o "$TMP/strace" -e trace=renameat2,rename "$RP_BIN" report --store "$S" \
    --out-dir "$R" --format csv --quiet 2>"$TMP/err"; then
    expect_grep "the earlier report is exchanged in one call (RENAME_EXCHANGE)" "$TMP/strace" \
        "renameat2\(AT_FDCWD, \"[^\"]*report\.tmp-[^\"]*\", AT_FDCWD, \"[^\"]*/report\", RENAME_EXCHANGE\) = 0"
else
    ok "# SKIP strace cannot trace here: $(head -c 200 "$TMP/err")"
    run 0 "a second report replaces the first" -- report --store "$S" --out-dir "$R" \
        --format csv --quiet
fi
expect_python "no staging or old directory is left beside the report" '
import os, sys
left = [d for d in os.listdir(os.path.dirname(sys.argv[1])) if ".tmp-" in d or ".aside-" in d]
assert not left, left
got = os.listdir(sys.argv[1])
assert "01-year.csv" in got and not any(f.endswith(".json") for f in got), got
' "$R"

echo "mine" >"$R/my-notes.txt"
run 4 "a file no report wrote stops the report" -- report --store "$S" --out-dir "$R" \
    --format csv,json --quiet
expect_grep "the refusal names the file and --force" "$TMP/err" \
    "'my-notes.txt'.*no report wrote.*--force"
expect_grep "the file is kept" "$R/my-notes.txt" "^mine$"
expect_python "the earlier report is untouched" '
import os, sys
got = os.listdir(sys.argv[1])
assert "01-year.csv" in got and not any(f.endswith(".json") for f in got), got
' "$R"

run 0 "--force replaces it, the added file with it" -- report --store "$S" --out-dir "$R" \
    --format csv,json --quiet --force
expect_python "the new report, without the added file" '
import os, sys
got = os.listdir(sys.argv[1])
assert "my-notes.txt" not in got and "01-year.json" in got, got
left = [d for d in os.listdir(os.path.dirname(sys.argv[1])) if ".tmp-" in d]
assert not left, left
' "$R"

# ---- marks and numbers in a rounded report ----

run 0 "rounded report (base 1000)" -- report --store "$S" --out-dir "$TMP/r1000" --round 1000 \
    --format html,csv --quiet
expect_python "rounded: no legend of a mark no cell uses; 1,000 with its separator" '
import glob, sys
d = sys.argv[1]
for path in glob.glob(d + "/*.csv"):
    text = open(path, encoding="utf-8").read()
    assert "suppressed (disclosure control)" not in text, path
html = open(d + "/report.html", encoding="utf-8").read()
assert "x = not published" not in html
assert "class=\"sup" not in html
method = html[html.index("<h2 id=\"method-h\">"):]
method = method[:method.index("</section>")]
assert "rounded to a multiple of 1,000," in method, method
assert "1000" not in method, method
' "$TMP/r1000"

run 0 "suppressed report (k = 210)" -- report --store "$S" --out-dir "$TMP/rk" --k 210 \
    --format html,csv --quiet
expect_python "suppressed: the legend is there with the marks" '
import sys
d = sys.argv[1]
assert "x: suppressed (disclosure control)" in open(d + "/01-year.csv").read()
assert "x = not published" in open(d + "/report.html", encoding="utf-8").read()
' "$TMP/rk"

finish
