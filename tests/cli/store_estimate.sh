#!/bin/bash
# tests/cli/store_estimate.sh: `rapporteur estimate --store` on three small lists that
# share person ids gives the capture-history table counted by hand, so the same estimate
# as `rapporteur estimate` on that table written as a CSV; records without a person id
# are left out and counted in a note; --by registration_year stratifies by the year of
# each person's earliest record.

. "$(dirname "$0")/lib.bash"

S="$TMP/est.db"
# The table by hand (lists A, B, C): pattern -> people, and the year of each group.
#   A only 10, B only 8, C only 6, AB 4, AC 3, BC 2, ABC 1   (34 people)
# Persons p1..p34; groups take consecutive ids. Year 2016 for even ids, 2017 for odd ones,
# except that a person seen twice is registered first in 2016 on the earlier list.
python3 - "$TMP" <<'PY'
import sys, os
tmp = sys.argv[1]
groups = [("A", 10), ("B", 8), ("C", 6), ("AB", 4), ("AC", 3), ("BC", 2), ("ABC", 1)]
rows = {"A": [], "B": [], "C": []}
pid = 0
for pattern, n in groups:
    for _ in range(n):
        pid += 1
        for k, lst in enumerate(pattern):
            # the first list of a person carries the earliest year
            year = (2016 if pid % 2 == 0 else 2017) + k
            rows[lst].append(("%s-%d" % (lst, len(rows[lst]) + 1), "p%d" % pid, year))
# five records in A without a person id (not linked)
for i in range(5):
    rows["A"].append(("A-x%d" % i, "", 2016))
for lst, rs in rows.items():
    with open(os.path.join(tmp, lst + ".csv"), "w") as f:
        f.write("case_ref,person,year\n")
        for r in rs:
            f.write("%s,%s,%d\n" % r)
with open(os.path.join(tmp, "map.json"), "w") as f:
    f.write('{"name": "est", "version": 1, "list": {"value": "X"}, "fields": {'
            '"case_id": {"column": "case_ref"}, "person_id": {"column": "person"},'
            '"registration_year": {"column": "year"}}}\n')
# the same table, aggregated, and by the year of the earliest record
with open(os.path.join(tmp, "table.csv"), "w") as f:
    f.write("A,B,C,count\n")
    for pattern, n in groups:
        f.write("%d,%d,%d,%d\n" % ("A" in pattern, "B" in pattern, "C" in pattern, n))
with open(os.path.join(tmp, "persons.csv"), "w") as f:
    f.write("A,B,C,registration_year\n")
    pid = 0
    for pattern, n in groups:
        for _ in range(n):
            pid += 1
            f.write("%d,%d,%d,%d\n" % ("A" in pattern, "B" in pattern, "C" in pattern,
                                      2016 if pid % 2 == 0 else 2017))
PY

run 0 "init" -- init --store "$S" --quiet
for l in A B C; do
    run 0 "import list $l" -- import "$TMP/$l.csv" --mapping "$TMP/map.json" --store "$S" --list "$l" --quiet
done

run 0 "estimate --store" -- estimate --store "$S" --json
cp "$TMP/out" "$TMP/store.json"
run 0 "estimate on the hand-made table" -- estimate "$TMP/table.csv" --json
expect_python "the store gives the hand-computed table and the same estimate" '
import json, sys
s = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
assert s["observed"] == 34, s["observed"]
assert s["unlinked_records"] == 5, s
notes = [n for n in s["notes"] if "without a person id" in n]
assert len(notes) == 1 and notes[0].startswith("5 "), s["notes"]
for k in ("observed", "estimate", "ci_lower", "ci_upper", "model"):
    assert s[k] == t[k], (k, s[k], t[k])
assert s["store"].endswith("est.db"), s
' "$TMP/store.json" "$TMP/out"

run 0 "estimate --store --by registration_year" -- estimate --store "$S" --by registration_year --json
cp "$TMP/out" "$TMP/store_by.json"
run 0 "estimate per person, by year" -- estimate "$TMP/persons.csv" --by registration_year --json
expect_python "strata by the year of the earliest record" '
import json, sys
s = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
ss = {x["stratum"]: x["observed"] for x in s["strata"]}
tt = {x["stratum"]: x["observed"] for x in t["strata"]}
assert ss == tt, (ss, tt)
assert sum(ss.values()) == 34, ss
' "$TMP/store_by.json" "$TMP/out"

run 2 "--store with FILE is a usage error" -- estimate "$TMP/table.csv" --store "$S"
run 2 "--store with --lists is a usage error" -- estimate --store "$S" --lists A,B
run 4 "--store on a missing store" -- estimate --store "$TMP/none.db"
expect_grep "missing store: hint to run init" "$TMP/err" "rapporteur init"

finish
