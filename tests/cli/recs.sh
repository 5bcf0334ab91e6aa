#!/bin/bash
# tests/cli/recs.sh: `rapporteur recs` end to end: --help of every subcommand, the example
# set imported and scored (--json numbers as in data/recs/README.md), changes with their
# audit entries, the text importer, exports (CSV, JSON, Excel, HTML), and the exit codes
# of unknown ids (2), refused transitions and bad data (65) and bad usage (2).

. "$(dirname "$0")/lib.bash"

DB="$TMP/recs.db"
EX="$RP_SRC/data/recs/example.json"
export RAPPORTEUR_AUTHOR=cli-test
R() { run "$@"; }

run 0 "init" -- init --store "$DB" --quiet

for sub in add import list show status set link act indicator report export; do
    run 0 "recs $sub --help" -- recs "$sub" --help
    expect_grep "recs $sub --help prints the usage" "$TMP/out" '^usage: rapporteur recs'
done
run 2 "recs without a subcommand" -- recs
run 2 "recs frobnicate" -- recs frobnicate --store "$DB"
expect_grep "unknown subcommand is named" "$TMP/err" "unknown subcommand 'frobnicate'"
run 2 "an option of another subcommand" -- recs list --title x --store "$DB"
expect_grep "misplaced option is named" "$TMP/err" "option '--title' does not apply to 'recs list'"

# ---- the example set ----
run 0 "import the example set" -- recs import "$EX" --store "$DB" --json
expect_python "import counts" '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["recommendations"] == 44 and d["actions"] == 10 and d["links"] == 10, d
' "$TMP/out"
run 65 "importing it again is refused" -- recs import "$EX" --store "$DB"
expect_grep "duplicate ref named" "$TMP/err" "exists already"

run 0 "report --json" -- recs report --as-of 2025-06-30 --json --store "$DB"
expect_python "scorecard numbers (data/recs/README.md)" '
import json, sys
d = json.load(open(sys.argv[1]))
o = d["overall"]
assert (o["total"], o["by_status"]["implemented"], o["relevant"], o["overdue"],
        o["repeated_not_acted"]) == (44, 13, 41, 20, 6), o
st = {x["state"]: x for x in d["by_state"]}
assert st["XA"]["by_status"]["implemented"] == 6 and st["XB"]["by_status"]["implemented"] == 7
assert abs(st["XB"]["share_implemented"] - 7 / 20) < 1e-9
tr = {(x["state"], x["round"]): x for x in d["trend"]}
assert tr[("XA", 3)]["repeated_not_acted"] == 3 and tr[("XB", 2)]["total"] == 10
th = {x["theme"]: x for x in d["by_theme"]}
assert th["labour_exploitation"]["total"] == 7
assert len(d["overdue"]) == 20 and len(d["repeated_not_acted"]) == 6
' "$TMP/out"
run 0 "report --format html" -- recs report --format html --as-of 2025-06-30 --out "$TMP/s.html" --store "$DB"
expect_grep "html report has a table" "$TMP/s.html" '<caption>By state</caption>'
expect_grep "html report has the chart" "$TMP/s.html" '<svg xmlns'
run 0 "report as text" -- recs report --as-of 2025-06-30 --state XA --store "$DB"
expect_grep "text report" "$TMP/out" '^  XA +22 +6 '

run 0 "list --json with filters" -- recs list --state XB --round 3 --strength urges --json --store "$DB"
expect_python "five round-3 XB urges" '
import json, sys
d = json.load(open(sys.argv[1]))["recommendations"]
assert len(d) == 5 and all(r["state"] == "XB" and r["round"] == 3 for r in d), len(d)
' "$TMP/out"
run 0 "list as text" -- recs list --theme compensation --store "$DB"
expect_grep "list text" "$TMP/out" 'XA/GRETA/3/1 '

# ---- changes ----
run 0 "status change with evidence" -- recs status XA/GRETA/3/1 in_progress --note "bill tabled" \
    --evidence https://example.org/bill --date 2025-07-01 --json --store "$DB"
expect_grep "status --json" "$TMP/out" '"to": "in_progress"'
run 65 "refused transition" -- recs status XA/GRETA/3/3 implemented --store "$DB"
expect_grep "rule in the message" "$TMP/err" "implemented only from 'in_progress'"
run 65 "reopening without a note" -- recs status XA/GRETA/2/1 in_progress --store "$DB"
expect_grep "reopening needs a note" "$TMP/err" "without a note"
run 2 "unknown id" -- recs status 9999 in_progress --store "$DB"
expect_grep "unknown id named" "$TMP/err" "no recommendation '9999'"
run 2 "unknown ref" -- recs show XZ/GRETA/1/1 --store "$DB"
run 2 "unknown status name" -- recs status 1 finished --store "$DB"
run 2 "unknown action" -- recs act --action NOPE 1 --store "$DB"
run 2 "link to an unknown id" -- recs link 1 --repeats 9999 --store "$DB"
run 0 "link" -- recs link XB/GRETA/3/9 --follows-up XB/GRETA/2/8 --store "$DB"
run 65 "the same link again" -- recs link XB/GRETA/3/9 --follows-up XB/GRETA/2/8 --store "$DB"
run 0 "new action" -- recs act XA/GRETA/3/7 --title "Residence permit guideline" --body XA-MOI \
    --due 2026-03-31 --json --store "$DB"
expect_grep "action id" "$TMP/out" '"id": 11'
run 0 "progress on an action" -- recs act --action 11 --progress --note "draft ready" --store "$DB"
run 0 "indicator" -- recs indicator XA/GRETA/3/7 --name "permits issued" --target 50 \
    --frequency annual --json --store "$DB"
run 0 "indicator measurement" -- recs indicator --indicator 6 --value 12 --store "$DB"
run 65 "measurement without a value" -- recs indicator --indicator 6 --store "$DB"
run 65 "bad due date" -- recs add rec "GRETA invites X." --state XA --due 2025-02-30 --store "$DB"
expect_grep "field named" "$TMP/err" "field 'due_date'"
run 65 "unknown theme" -- recs add rec "GRETA invites X." --state XA --theme nonsense --store "$DB"
run 0 "add a theme, then use it" -- recs add theme hotline --label "Victim hotline" --store "$DB"
run 0 "add rec" -- recs add rec "GRETA invites the authorities to run a hotline." --state XA \
    --round 3 --paragraph 13 --strength invites --theme hotline --json --store "$DB"
expect_grep "ref of the new recommendation" "$TMP/out" '"ref": "XA/GRETA/3/13"'

run 0 "show --json" -- recs show XA/GRETA/3/1 --json --store "$DB"
expect_python "history and audit of one recommendation" '
import json, sys
d = json.load(open(sys.argv[1]))
assert [h["status"] for h in d["history"]] == ["not_started", "in_progress"], d["history"]
assert d["history"][1]["evidence"] == ["https://example.org/bill"]
assert any(a["field"] == "status" and a["author"] == "cli-test" and a["new"] == "in_progress"
           for a in d["audit"]), d["audit"]
assert len(d["actions"]) == 1 and d["actions"][0]["ref"] == "XA-ACT-02"
' "$TMP/out"
run 0 "show as text" -- recs show XA/GRETA/3/1 --store "$DB"
expect_grep "show text history" "$TMP/out" 'in_progress +cli-test: bill tabled'

# ---- text import ----
run 2 "text import without --state" -- recs import "$RP_SRC/tests/fixtures/recs/greta_list.txt" --store "$DB"
run 0 "text import" -- recs import "$RP_SRC/tests/fixtures/recs/greta_list.txt" --state XB \
    --source GRETA --round 4 --json --store "$DB"
expect_python "text import counts" '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["recommendations"] == 9 and d["skipped_lines"] == 3, d
' "$TMP/out"
run 65 "text without paragraphs" -- recs import "$RP_SRC/tests/fixtures/recs/no_paragraphs.txt" \
    --state XB --source GRETA --store "$DB"
expect_grep "position in the message" "$TMP/err" 'no_paragraphs.txt:1:1: no numbered paragraph'

# ---- exports ----
run 0 "export csv" -- recs export --store "$DB" --out "$TMP/all.csv"
expect_grep "csv header" "$TMP/all.csv" '^ref,state,source,round,paragraph,strength,themes'
run 0 "export json" -- recs export --format json --state XA --store "$DB"
expect_python "json export of XA" '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "rapporteur-recs" and all(r["state"] == "XA" for r in d["recommendations"])
assert len(d["recommendations"]) == 23, len(d["recommendations"])
' "$TMP/out"
run 0 "export xlsx" -- recs export --format xlsx --out "$TMP/recs.xlsx" --store "$DB"
expect_python "xlsx is a workbook with five sheets" '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert sum(n.startswith("xl/worksheets/sheet") for n in z.namelist()) == 5
' "$TMP/recs.xlsx"
run 2 "xlsx needs --out" -- recs export --format xlsx --store "$DB"
run 2 "bad format" -- recs export --format pdf --store "$DB"

# ---- review fixes ----
# per-subcommand help lists every option of the subcommand
run 0 "recs status --help" -- recs status --help
for o in --note --date --evidence; do expect_grep "status --help lists $o" "$TMP/out" "^  $o "; done
run 0 "recs add --help" -- recs add --help
for o in --kind --label --paragraph --ref --due; do expect_grep "add --help lists $o" "$TMP/out" "^  $o "; done
expect_grep "add --help names the kinds" "$TMP/out" 'national_action_plan'
run 0 "recs indicator --help" -- recs indicator --help
for o in --unit --baseline --frequency --value --target --indicator; do
    expect_grep "indicator --help lists $o" "$TMP/out" "^  $o "
done
run 0 "recs act --help" -- recs act --help
for o in --start --ref --value --progress --action; do expect_grep "act --help lists $o" "$TMP/out" "^  $o "; done
run 0 "recs link --help" -- recs link --help
expect_grep "link --help lists --remove" "$TMP/out" '^  --remove '
run 0 "recs set --help" -- recs set --help
expect_grep "set --help lists --field" "$TMP/out" '^  --field '

# filtered Excel export: no row of another state in any sheet
run 0 "export xlsx --state XA" -- recs export --format xlsx --state XA --out "$TMP/xa.xlsx" --store "$DB"
expect_python "XA workbook holds no XB row" '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
text = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml")
assert "XB" not in text, [l for l in text.split("<si>") if "XB" in l][:3]
assert "XA-ACT-02" in text and "xa-nr-office" in text
' "$TMP/xa.xlsx"

# long text: shortened with a visible marker and a note, never dropped
LONG=$(python3 -c 'print("GRETA urges " + "the authorities to act " * 1700)')
run 0 "add a very long recommendation" -- recs add rec "$LONG" --state XA --round 3 --paragraph 99 --store "$DB"
run 0 "export xlsx with long text" -- recs export --format xlsx --state XA --round 3 --out "$TMP/long.xlsx" --store "$DB"
expect_python "long text is cut with a marker and listed on a Notes sheet" '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
s = z.read("xl/sharedStrings.xml").decode()
assert "truncated by rapporteur" in s and "XA/GRETA/3/99" in s
assert sum(n.startswith("xl/worksheets/sheet") for n in z.namelist()) == 6
' "$TMP/long.xlsx"
expect_python "no temporary file is left" '
import os, sys
assert not [n for n in os.listdir(sys.argv[1]) if n.startswith(".")], os.listdir(sys.argv[1])
' "$TMP"

# unknown refs inside an import file are data errors (65)
printf '{"recommendations": [{"state": "XA", "source": "GRETA", "text": "t", "ref": "XA/T/1",\n "links": [{"kind": "repeats", "ref": "nowhere"}]}]}\n' >"$TMP/badref.json"
run 65 "unknown ref in an import file" -- recs import "$TMP/badref.json" --store "$DB"
expect_grep "JSON path of the unknown ref" "$TMP/err" "recommendations\[0\]\.links\[0\]: no recommendation 'nowhere'"

# the audit trail of an import names who ran it
run 0 "show an imported recommendation" -- recs show XB/GRETA/2/1 --json --store "$DB"
expect_python "audit names the importer, history the file's authors" '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(a["author"] == "cli-test" for a in d["audit"]), set(a["author"] for a in d["audit"])
assert any(h["author"] != "cli-test" for h in d["history"])
' "$TMP/out"

# future dates are refused (65); unknown filter values are usage errors (2)
FUTURE=$(python3 -c 'import datetime; print(datetime.date.today() + datetime.timedelta(days=30))')
run 65 "a status dated in the future" -- recs status XA/GRETA/3/2 in_progress --date "$FUTURE" --store "$DB"
expect_grep "future date named" "$TMP/err" "after today"
run 2 "unknown theme filter" -- recs report --theme labor_exploitation --store "$DB"
expect_grep "unknown theme named" "$TMP/err" "unknown theme 'labor_exploitation'"
run 2 "lower-case source filter" -- recs list --source greta --store "$DB"
expect_grep "case hint" "$TMP/err" "did you mean 'GRETA'"

# the scorecard of a past day (data/recs/README.md)
run 0 "report --as-of a past day" -- recs report --as-of 2022-01-01 --state XB --json --store "$DB"
expect_python "XB as of 2022-01-01" '
import json, sys
o = json.load(open(sys.argv[1]))["overall"]
assert (o["total"], o["by_status"]["implemented"], o["by_status"]["not_started"], o["overdue"],
        o["repeated_not_acted"]) == (22, 4, 14, 5, 3), o
' "$TMP/out"

# act: linking is all or nothing; progress needs something; --json names the ref
run 65 "act --action links none when one fails" -- recs act --action XA-ACT-02 XA/GRETA/3/2 XA/GRETA/3/1 --store "$DB"
run 0 "show after the refused link" -- recs show XA/GRETA/3/2 --json --store "$DB"
expect_python "XA/GRETA/3/2 was not linked" '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(a["ref"] != "XA-ACT-02" for a in d["actions"]), d["actions"]
' "$TMP/out"
run 2 "act --progress with nothing to report" -- recs act --action 11 --progress --store "$DB"
run 0 "act --json" -- recs act XA/GRETA/3/2 --title "Training" --json --store "$DB"
expect_grep "act --json gives the ref" "$TMP/out" '"ref": "A12"'

# set: an audited edit; link --remove: an audited unlink
run 0 "set due_date" -- recs set XA/GRETA/3/2 --field due_date --value 2027-01-31 --store "$DB"
run 2 "set an unknown field" -- recs set XA/GRETA/3/2 --field colour --value red --store "$DB"
run 0 "link --remove" -- recs link XB/GRETA/3/9 --follows-up XB/GRETA/2/8 --remove --store "$DB"
run 2 "link --remove again" -- recs link XB/GRETA/3/9 --follows-up XB/GRETA/2/8 --remove --store "$DB"
run 65 "link to a later round" -- recs link XB/GRETA/2/8 --follows-up XB/GRETA/3/9 --store "$DB"
run 65 "link across states" -- recs link XB/GRETA/3/9 --follows-up XA/GRETA/2/8 --store "$DB"
run 0 "show --json after set and unlink" -- recs show XA/GRETA/3/2 --json --store "$DB"
expect_python "set is audited" '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["due_date"] == "2027-01-31"
assert any(a["field"] == "due_date" and a["new"] == "2027-01-31" for a in d["audit"])
' "$TMP/out"

# show prints control characters as "?"
printf '{"recommendations": [{"state": "XA", "source": "GRETA", "round": 3, "paragraph": "98",\n "text": "t", "history": [{"from": null, "status": "not_started", "date": "2024-01-01",\n "author": "office\\u001b[31m"}]}]}\n' >"$TMP/esc.json"
run 0 "import an author with a control character" -- recs import "$TMP/esc.json" --store "$DB"
run 0 "an action whose title holds a line break" -- recs act XA/GRETA/3/98 --title "$(printf 'Plan\nforged line')" --store "$DB"
run 0 "show it" -- recs show XA/GRETA/3/98 --store "$DB"
expect_python "no escape character or forged line on the terminal" '
import sys
out = open(sys.argv[1], encoding="utf-8").read()
assert "\x1b" not in out and "\nforged line" not in out, out
' "$TMP/out"

unset RAPPORTEUR_AUTHOR
USER= run 2 "a change without an author" -- recs status 1 in_progress --store "$DB"

finish
