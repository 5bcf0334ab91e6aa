#!/bin/bash
# tests/cli/store_ctdc.sh: the CTDC global dataset (data/ctdc, 47,102 records) imports with
# its shipped mapping (data/mappings/ctdc.json), and `rapporteur stats` by year, sex, age
# band, citizenship and form of exploitation equals counts computed here from the CSV by
# a second, independent reader (Python's csv module). Re-importing is detected.

. "$(dirname "$0")/lib.bash"

CSV="$RP_SRC/data/ctdc/ctdc_global_dataset_2018_kanon.csv"
MAPPING="$RP_SRC/data/mappings/ctdc.json"
S="$TMP/ctdc.db"

run 0 "init" -- init --store "$S"
run 0 "import the CTDC dataset" -- import "$CSV" --mapping "$MAPPING" --store "$S" --agency IOM --json
expect_python "every CTDC record stored" '
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["read"], r["stored"], r["quarantined"]) == (47102, 47102, 0), r
assert r["duplicate"] is False and r["submission_id"] == 1, r
assert len(r["sha256"]) == 64, r
' "$TMP/out"

run 0 "stats by year, sex, age band, citizenship, exploitation" -- stats --store "$S" \
    --field registration_year,sex,age_band --field citizenship,exploitation --json
expect_python "stats equal counts computed from the CSV" '
import collections, csv, json, sys
stats = json.load(open(sys.argv[1]))
got = {f["field"]: f["counts"] for f in stats["fields"]}
assert stats["records"] == 47102, stats["records"]

# The CTDC codebook, read independently of the mapping file: "" and -99 are missing,
# "Unknown" is recorded-as-unknown, "Missing" is suppressed (missing); ageBroad uses "--".
def coded(v, table=None):
    v = v.strip()
    if v in ("", "-99", "Missing"):
        return ""
    if v == "Unknown":
        return "unknown"
    return table[v] if table else v

flags = {"isForcedLabour": ["forced_labour"], "isSexualExploit": ["sexual"],
         "isOtherExploit": ["other"], "isSexAndLabour": ["forced_labour", "sexual"],
         "isForcedMarriage": ["forced_marriage"], "isForcedMilitary": ["forced_military"],
         "isOrganRemoval": ["organ_removal"]}
want = collections.defaultdict(collections.Counter)
n = 0
for r in csv.DictReader(open(sys.argv[2], newline="", encoding="utf-8")):
    n += 1
    want["registration_year"][coded(r["yearOfRegistration"])] += 1
    want["sex"][coded(r["gender"], {"Female": "female", "Male": "male"})] += 1
    want["age_band"][coded(r["ageBroad"].replace("--", "-"), None)] += 1
    want["citizenship"][coded(r["citizenship"])] += 1
    codes = set()
    for col, cs in flags.items():
        if r[col].strip() == "1":
            codes.update(cs)
    for c in codes:
        want["exploitation"][c] += 1
    if not codes:
        want["exploitation"][""] += 1
assert n == 47102, n
for field, counts in want.items():
    assert got[field] == dict(counts), (field, got[field], dict(counts))
# spot values from the data README: 2016 is the largest year, NA never appears here
assert got["registration_year"]["2016"] == 18813, got["registration_year"]
assert got["sex"] == {"female": 33850, "male": 12997, "unknown": 255}, got["sex"]
' "$TMP/out" "$CSV"

run 0 "lists" -- lists --store "$S" --json
expect_python "two CTDC lists, one submission with provenance" '
import json, sys
l = json.load(open(sys.argv[1]))
total = sum(x["records"] for x in l["lists"])
assert total == 47102, l["lists"]
assert len(l["lists"]) == 2, l["lists"]
s, = l["submissions"]
assert s["agency"] == "IOM" and s["file"] == "ctdc_global_dataset_2018_kanon.csv", s
assert s["mapping"] == "ctdc" and s["read"] == 47102 and s["quarantined"] == 0, s
' "$TMP/out"

run 0 "re-import is detected" -- import "$CSV" --mapping "$MAPPING" --store "$S" --json
expect_python "re-import: duplicate of submission 1, nothing stored" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duplicate"] is True and r["duplicate_of"] == 1 and r["stored"] == 0, r
assert r["submission_id"] is None, r
' "$TMP/out"
run 0 "still one submission" -- lists --store "$S" --json
expect_python "still 47,102 records" '
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l["submissions"]) == 1 and sum(x["records"] for x in l["lists"]) == 47102, l
' "$TMP/out"

run 0 "export as CSV" -- export --store "$S" --out "$TMP/ctdc_export.csv"
expect_python "export: 47,102 rows with the standard header" '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 47102, len(rows)
assert list(rows[0].keys())[:4] == ["list", "case_id", "person_id", "registration_year"], rows[0]
' "$TMP/ctdc_export.csv"

finish
