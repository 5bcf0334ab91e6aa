#!/bin/bash
# tests/cli/store_commands.sh: init, lists, quarantine, export and stats around one small
# store: init refuses files that are not stores and is idempotent on stores; every command
# on a missing store exits 4 with a hint; lists/quarantine/export/stats give the values
# of the fixture in text, CSV and JSON; quarantine output is CSV-safe; export --out is
# atomic.

. "$(dirname "$0")/lib.bash"

BAD="$RP_SRC/tests/fixtures/bad"
MAP="$BAD/agency.json"
S="$TMP/s.db"

# ---- init ----

run 0 "init creates a store" -- init --store "$S" --json
expect_python "init --json" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["created"] is True and r["schema_version"] >= 1, r
' "$TMP/out"
run 0 "init on a store is a no-op" -- init --store "$S"
expect_grep "init on a store says it is ready" "$TMP/out" "is ready \(schema version [0-9]+\)"

echo "somebody's notes" >"$TMP/notes.txt"
run 4 "init refuses to overwrite a text file" -- init --store "$TMP/notes.txt"
expect_grep "init refuses: says so" "$TMP/err" "not a rapporteur store; refusing to overwrite"
expect_python "init refuses: the file is untouched" '
import sys
assert open(sys.argv[1]).read() == "somebody'"'"'s notes\n"
' "$TMP/notes.txt"
: >"$TMP/empty.db"
run 4 "init refuses an empty file" -- init --store "$TMP/empty.db"
if [ -s "$TMP/empty.db" ]; then not_ok "init refuses an empty file: left empty"; else ok "init refuses an empty file: left empty"; fi
mkdir "$TMP/adir"
run 4 "init refuses a directory" -- init --store "$TMP/adir"
run 4 "init into a missing directory" -- init --store "$TMP/nodir/s.db"
run 2 "init with an argument" -- init "$S"

# ---- a missing store ----

for cmd in lists quarantine export; do
    run 4 "$cmd on a missing store" -- "$cmd" --store "$TMP/none.db"
    expect_grep "$cmd on a missing store: hint" "$TMP/err" "no store at .*rapporteur init"
done
run 4 "stats on a missing store" -- stats --store "$TMP/none.db" --field sex
run 4 "import into a missing store" -- import "$BAD/good.csv" --mapping "$MAP" --store "$TMP/none.db"
if [ -e "$TMP/none.db" ]; then not_ok "no store was created by mistake"; else ok "no store was created by mistake"; fi
run 4 "lists on a text file" -- lists --store "$TMP/notes.txt"

# ---- usage errors ----

run 2 "import without --mapping" -- import "$BAD/good.csv" --store "$S"
run 2 "import without FILE" -- import --mapping "$MAP" --store "$S"
run 2 "import --format nonsense" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --format xls
run 2 "import --delimiter of two characters" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --delimiter ab
run 2 "import of the store itself" -- import "$S" --mapping "$MAP" --store "$S"
run 4 "import of a missing file" -- import "$TMP/none.csv" --mapping "$MAP" --store "$S"
run 4 "import with a missing mapping" -- import "$BAD/good.csv" --mapping "$TMP/none.json" --store "$S"
run 2 "quarantine --submission 0" -- quarantine --store "$S" --submission 0
run 2 "export --format xml" -- export --store "$S" --format xml
run 2 "export --json with --format csv" -- export --store "$S" --json --format csv
run 2 "stats without --field" -- stats --store "$S"
run 2 "stats with an unknown field" -- stats --store "$S" --field shoe_size
expect_grep "unknown field named" "$TMP/err" "unknown field 'shoe_size'"

# ---- an empty store ----

run 0 "lists on an empty store" -- lists --store "$S"
expect_grep "lists: no submissions yet" "$TMP/out" "no submissions yet"
run 0 "export of an empty store" -- export --store "$S"
expect_python "export of an empty store: header only" '
import sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1 and lines[0].startswith("list,case_id,person_id,"), lines
' "$TMP/out"

# ---- two submissions ----

run 0 "import good.csv" -- import "$BAD/good.csv" --mapping "$MAP" --store "$S" --agency police
expect_grep "import: summary" "$TMP/out" "^Stored +3$"
printf 'case_ref,year,reg_date,sex,age,nationality,country_exploited,forms\nQ-1,2016,2016-03-14,"F,M",24,UA,DE,sex\nQ-2,2016,2016-03-14,M,24,UA,DE,labour\n' >"$TMP/comma.csv"
run 3 "import with a bad row" -- import "$TMP/comma.csv" --mapping "$MAP" --store "$S" --agency ngo --list NGO
expect_grep "import: reasons by rule" "$TMP/out" "^  code +1 +e\.g\. line 2, column 4 'sex'"
expect_grep "import: how to see every reason" "$TMP/out" "rapporteur quarantine --store .* --submission 2"

run 0 "lists" -- lists --store "$S" --json
expect_python "lists --json" '
import json, sys
l = json.load(open(sys.argv[1]))
assert l["lists"] == [{"list": "NGO", "records": 1}, {"list": "POL", "records": 3}], l["lists"]
a, b = l["submissions"]
assert (a["id"], a["agency"], a["file"], a["read"], a["stored"], a["quarantined"]) == (1, "police", "good.csv", 3, 3, 0), a
assert (b["id"], b["agency"], b["list"], b["read"], b["stored"], b["quarantined"]) == (2, "ngo", "NGO", 2, 1, 1), b
assert len(a["sha256"]) == 64 and a["imported_at"].endswith("Z"), a
' "$TMP/out"
run 0 "lists as text" -- lists --store "$S"
expect_grep "lists text: POL" "$TMP/out" "^POL +3$"
expect_grep "lists text: total" "$TMP/out" "^\(all lists\) +4$"

run 0 "quarantine" -- quarantine --store "$S"
expect_python "quarantine CSV: header, one reason, comma value quoted" '
import csv, sys
text = open(sys.argv[1]).read()
assert text.splitlines()[0] == "submission,file,line,column,column_name,value,rule,message", text
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 1, rows
r = rows[0]
assert (r["submission"], r["file"], r["line"], r["column"], r["column_name"], r["value"], r["rule"]) == ("2", "comma.csv", "2", "4", "sex", "F,M", "code"), r
' "$TMP/out"
run 0 "quarantine --submission 1 is empty" -- quarantine --store "$S" --submission 1 --json
expect_python "quarantine --json" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["count"] == 0 and r["reasons"] == [], r
' "$TMP/out"

run 0 "export --list POL" -- export --store "$S" --list POL
cp "$TMP/out" "$TMP/pol.csv"
expect_python "export --list POL: three records" '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["case_id"] for r in rows] == ["P-1001", "P-1002", "P-1003"], rows
assert rows[2]["exploitation"] == "sexual;forced_labour", rows[2]
assert {r["list"] for r in rows} == {"POL"}, rows
' "$TMP/pol.csv"
run 0 "export --json" -- export --store "$S" --json
expect_python "export --json: four records" '
import json, sys
recs = json.load(open(sys.argv[1]))
assert sorted(r["case_id"] for r in recs) == ["P-1001", "P-1002", "P-1003", "Q-2"], recs
' "$TMP/out"

run 0 "export --out" -- export --store "$S" --list POL --out "$TMP/pol_out.csv"
if cmp -s "$TMP/pol.csv" "$TMP/pol_out.csv"; then ok "export --out: same as stdout"; else not_ok "export --out: differs from stdout"; fi
if [ -s "$TMP/out" ]; then not_ok "export --out: nothing on stdout"; else ok "export --out: nothing on stdout"; fi
echo "old content" >"$TMP/keep.csv"
run 4 "export --out into a missing directory" -- export --store "$S" --out "$TMP/nodir/x.csv"
run 4 "export from a missing store leaves --out alone" -- export --store "$TMP/none.db" --out "$TMP/keep.csv"
expect_grep "export: old --out untouched" "$TMP/keep.csv" "^old content$"
left=$(find "$TMP" -name '.*.csv.*' | head -n 1)
if [ -z "$left" ]; then ok "export: no temporary file left"; else not_ok "export: temporary file left" "$left"; fi

run 0 "stats" -- stats --store "$S" --field sex --field exploitation
expect_grep "stats text: female" "$TMP/out" "^  female +2 +50\.0%$"
expect_grep "stats text: header" "$TMP/out" "^sex \(2 values, 4 records\)$"
run 0 "stats --json" -- stats --store "$S" --field sex,exploitation,list --json
expect_python "stats --json" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["records"] == 4, r
f = {x["field"]: x["counts"] for x in r["fields"]}
assert f["sex"] == {"female": 2, "male": 2}, f
assert f["exploitation"] == {"forced_labour": 3, "sexual": 2}, f
assert f["list"] == {"NGO": 1, "POL": 3}, f
' "$TMP/out"

finish
