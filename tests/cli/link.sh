#!/bin/bash
# tests/cli/link.sh: `rapporteur link` end to end. Usage errors and exit statuses; the
# whole chain simulate -> keygen -> encode -> import --submission -> link -> estimate on
# two shipped scenarios (scripts/eval-chain), with the pairwise precision and recall of
# the linkage against the simulator's truth above floors measured on seeds 1-3, and the
# difference between the estimate from linked data and from the true capture histories
# reported; then the JSON report, the clerical-review file and the saved run on the
# linked store, and clerical-review verdicts (a reviewed file, and the review page's)
# changing the persons of the next runs.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
SCEN="$RP_SRC/data/scenarios"

# ---- help and usage ----
run 0 "link --help" -- link --help
expect_grep "help names the threshold" "$TMP/out" "--threshold"
expect_grep "help names the sensitivity table" "$TMP/out" "--sensitivity"
expect_grep "help names the methods" "$TMP/out" "--method"
run 2 "link: threshold out of range" -- link --threshold 1.5
run 2 "link: review above threshold" -- link --threshold 0.8 --review 0.9
run 2 "link: within and across exclude each other" -- link --within-list --across-lists-only
run 2 "link: unknown rule" -- link --rules family_year,soundex
expect_grep "link: the unknown rule is named" "$TMP/err" "soundex"
run 2 "link: bad sensitivity range" -- link --sensitivity 0.9:0.7:0.05
run 2 "link: bad thread count" -- link --threads 0
run 2 "link: unknown method" -- link --method greedy
expect_grep "link: the methods are named" "$TMP/err" "fs or dice"
run 2 "link: unexpected operand" -- link extra
run 4 "link: no store" -- link --store "$TMP/none.db"
"$R" init --store "$TMP/empty.db" --quiet || not_ok "init empty store"
run 65 "link: a store without encoded records" -- link --store "$TMP/empty.db" --json
expect_grep "link: error as JSON" "$TMP/out" '"error"'

# ---- the chain on simulated scenarios, against the truth ----
# Floors measured at the defaults (threshold 0.80, cohesion 0.5, list guard) on seeds 1-3:
# small-national precision 0.978-0.98, recall 0.946-0.97; cross-border precision
# 0.97-0.99, recall 0.98-0.99 (docs/linkage.md).
if "$RP_SRC/scripts/eval-chain" --bin "$R" --seed 1 --json --keep "$TMP/chain" \
    "$SCEN/small-national.json" "$SCEN/cross-border.json" >"$TMP/chain.json" 2>"$TMP/chain.err"; then
    ok "the chain runs on small-national and cross-border"
else
    not_ok "the chain" "$(tail -5 "$TMP/chain.err")"
fi
expect_python "linkage precision and recall above the floors; estimate difference reported" '
import json, math, sys
floors = {"small-national": (0.95, 0.92), "cross-border": (0.95, 0.95)}
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert {r["scenario"] for r in rows} == set(floors), rows
for r in rows:
    p, q = floors[r["scenario"]]
    assert r["precision"] >= p and r["recall"] >= q, r
    # the estimate from linked data beside the one from the true capture histories
    for k in ("estimate_true_histories", "estimate_linked", "difference"):
        assert math.isfinite(r[k]), (k, r)
    assert abs(r["relative_difference"]) < 0.15, r
    assert r["linked_persons"] <= r["records"]
    print("#", r["scenario"], "P %.4f R %.4f F1 %.4f, estimate %.0f (true histories %.0f, "
          "difference %+.0f)" % (r["precision"], r["recall"], r["f1"], r["estimate_linked"],
          r["estimate_true_histories"], r["difference"]), file=sys.stderr)
' "$TMP/chain.json"

# ---- the report, the review file and the saved run ----
DB="$TMP/chain/small-national/store.db"
run 0 "link --one-to-one: every pair compared when there are few (exit 0)" -- link \
    --store "$DB" --json --threads 2 --one-to-one
expect_python "link --one-to-one: across lists only, every pair, mutual best down to 0.70" '
import json, sys
r = json.load(open(sys.argv[1]))
b, p = r["blocking"], r["params"]
assert p["one_to_one"] is True and p["within_list"] is False and p["across_lists"] is True, p
assert p["mutual_best"] == p["review"] == 0.7, p
assert p["exhaustive_max"] == 100000000, p
assert b["exhaustive"] is True and b["rules"] == [], b
assert b["candidates"] < r["records"] * (r["records"] - 1) // 2, b  # across lists only
c = r["clusters"]
assert 0 < c["mutual_best_links"] <= c["links"], c
' "$TMP/out"
run 2 "link: --exhaustive-max with --method fs is refused" -- link --store "$DB" \
    --method fs --exhaustive-max 1000
expect_grep "the refusal says fs always blocks" "$TMP/err" "always blocks"
run 0 "link --exhaustive-max: every pair, within lists too (exit 0)" -- link --store "$DB" \
    --json --exhaustive-max 10000000
expect_python "link --exhaustive-max: every allowed pair compared" '
import json, sys
r = json.load(open(sys.argv[1]))
b, n = r["blocking"], r["records"]
assert b["exhaustive"] is True and b["candidates"] == n * (n - 1) // 2, (b, n)
' "$TMP/out"
run 2 "link: --one-to-one and --within-list exclude each other" -- link --store "$DB" \
    --one-to-one --within-list
expect_grep "the clash is named" "$TMP/err" "one-to-one"
run 0 "link again with a review file (exit 0)" -- link --store "$DB" --json \
    --review-file "$TMP/review.csv" --sensitivity 0.75:0.9:0.05 --threads 2
cp "$TMP/out" "$TMP/link.json"
expect_python "link --json: blocking report, clusters and sensitivity" '
import csv, json, math, sys
r = json.load(open(sys.argv[1]))
b = r["blocking"]
rules = {x["rule"]: x for x in b["rules"]}
assert {"family_year", "given_date", "names", "lsh"} <= set(rules), rules
assert sum(x["first_pairs"] for x in rules.values()) == b["candidates"]
for x in rules.values():
    assert x["first_pairs"] <= x["pairs"]
assert b["kept"] <= b["candidates"] and b["peak_bytes"] > 0
c = r["clusters"]
assert c["persons"] + c["merges"] == r["records"], c
assert r["params"]["threshold"] == 0.8 and r["params"]["review"] == 0.7
th = [s["threshold"] for s in r["sensitivity"]]
assert [round(t, 2) for t in th] == [0.75, 0.8, 0.85, 0.9], th
chosen = [s for s in r["sensitivity"] if abs(s["threshold"] - 0.8) < 1e-9][0]
assert chosen["persons"] == c["persons"], (chosen, c)
for s in r["sensitivity"]:
    assert s["observed"] == s["persons"] and s["lower"] <= s["estimate"] <= s["upper"], s
# fewer persons at lower thresholds (more links)
ps = [s["persons"] for s in r["sensitivity"]]
assert ps == sorted(ps), ps
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == r["review_pairs"], (len(rows), r["review_pairs"])
assert rows and set(rows[0]) == {"score", "list_a", "record_a", "list_b", "record_b", "linked", "decision"}
assert all(x["linked"] in ("0", "1") for x in rows)
for x in rows:
    assert 0.7 <= float(x["score"]) < 0.8, x
    int(x["record_a"]); int(x["record_b"])
' "$TMP/link.json" "$TMP/review.csv"
[ "$(stat -c %a "$TMP/review.csv")" = 600 ] && ok "review file mode 0600" ||
    not_ok "review file mode $(stat -c %a "$TMP/review.csv")"
run 0 "estimate --store after link" -- estimate --store "$DB" --json
expect_python "the store counts the linked persons" '
import json, sys
e, l = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert e["observed"] == l["clusters"]["persons"], (e["observed"], l["clusters"]["persons"])
assert e.get("unlinked_records", 0) == 0, e
' "$TMP/out" "$TMP/link.json"
run 0 "link: text report" -- link --store "$DB" --across-lists-only --cohesion 0 --no-list-guard \
    --rules family_year,names --max-block 50
expect_grep "text report: sensitivity table" "$TMP/out" "Linkage sensitivity"
expect_grep "text report: chosen row marked" "$TMP/out" "<- chosen"
run 0 "link --method fs" -- link --store "$DB" --method fs --json --review-file "$TMP/review_fs.csv"
cp "$TMP/out" "$TMP/link_fs.json"
expect_python "link --method fs: weights, the model and its warnings in the report" '
import csv, json, math, sys
r = json.load(open(sys.argv[1]))
assert r["params"]["method"] == "fs" and r["params"]["threshold"] == 0 and r["params"]["review"] == -5
f = r["fs"]
assert 0 < f["lambda"] < 1 and f["expected_matches"] > 0 and isinstance(f["warnings"], list)
names = [c["name"] for c in f["comparisons"]]
assert names == ["dice", "family_year", "given_date", "names", "document"], names
for c in f["comparisons"]:
    assert abs(sum(c["m"]) - 1) < 1e-9 and abs(sum(c["u"]) - 1) < 1e-9, c
dice = f["comparisons"][0]
assert dice["m"][0] > dice["u"][0] * 100, dice  # Dice >= 0.95: far likelier for matches
assert [s["name"] for s in f["sessions"]] == ["family_year", "given_date", "names", "document", "other"]
th = [s["threshold"] for s in r["sensitivity"]]
assert th[0] == -8 and th[-1] == 8, th
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == r["review_pairs"]
for x in rows:
    assert -5 <= float(x["score"]) < 0, x
c = r["clusters"]
assert c["persons"] + c["merges"] == r["records"], c
' "$TMP/link_fs.json" "$TMP/review_fs.csv"
run 0 "link --method fs: text report" -- link --store "$DB" --method fs --threshold 2 --review -1
expect_grep "fs text report: the model" "$TMP/out" "Fellegi-Sunter: lambda"
expect_grep "fs text report: clusters by weight" "$TMP/out" "Clusters at weight >= 2.00"
run 2 "link --method dice: a Dice above 1" -- link --method dice --threshold 1.5
# ---- clerical review feedback: verdicts change the next run's persons ----
# From the review file of the last run: the first band pair the run did not link is
# accepted; a match pair of two records that make a person of their own is rejected
# (added to the file by its record numbers). The next run must make the first pair one
# person and split the second, and so must every later run without --decisions.
expect_python "a reviewed file: one band pair accepted, one match pair rejected" '
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
run = db.execute("select max(id) from link_runs").fetchone()[0]
rows = list(csv.DictReader(open(sys.argv[2])))
acc = next(r for r in rows if r["linked"] == "0")
acc["decision"] = "match"
# a person of exactly two records, joined by a match pair
pairs = db.execute("""select p.case_a, p.case_b from link_pairs p
    join link_members a on a.run_id = p.run_id and a.case_row = p.case_a
    join link_members b on b.run_id = p.run_id and b.case_row = p.case_b
    where p.run_id = ? and p.decision = 2 and a.person = b.person and
    (select count(*) from link_members m where m.run_id = p.run_id and m.person = a.person) = 2
    order by p.score desc limit 1""", (run,)).fetchall()
ca, cb = pairs[0]
lists = dict(db.execute("select id, list from cases where id in (?, ?)", (ca, cb)).fetchall())
rej = {"score": "0.9", "list_a": lists[ca], "record_a": ca, "list_b": lists[cb], "record_b": cb,
       "linked": "1", "decision": "Non-Match"}
w = csv.DictWriter(open(sys.argv[3], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader()
for r in rows:
    w.writerow(r)
w.writerow(rej)
open(sys.argv[4], "w").write("%s %s %s %s\n" % (acc["record_a"], acc["record_b"], ca, cb))
' "$DB" "$TMP/review.csv" "$TMP/reviewed.csv" "$TMP/verdict_pairs"
read -r ACC_A ACC_B REJ_A REJ_B <"$TMP/verdict_pairs"
run 0 "link --decisions" -- link --store "$DB" --json --decisions "$TMP/reviewed.csv" \
    --reviewer "analyst-1" --threads 2 --review-file "$TMP/review2.csv"
cp "$TMP/out" "$TMP/link_dec.json"
same_person() { # DB A B: 1 when records A and B are one person in the latest run
    python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
run = db.execute("select max(id) from link_runs").fetchone()[0]
p = [db.execute("select person from link_members where run_id = ? and case_row = ?",
                (run, int(x))).fetchone()[0] for x in sys.argv[2:4]]
print(1 if p[0] == p[1] else 0)' "$@"
}
[ "$(same_person "$DB" "$ACC_A" "$ACC_B")" = 1 ] && ok "the accepted band pair is one person" ||
    not_ok "the accepted band pair is not one person"
[ "$(same_person "$DB" "$REJ_A" "$REJ_B")" = 0 ] && ok "the rejected match pair is split" ||
    not_ok "the rejected match pair is one person"
expect_python "the verdicts: recorded with who and when, in force, in the saved pairs and the next review file" '
import csv, json, sqlite3, sys
r = json.load(open(sys.argv[1]))
v = r["verdicts"]
assert v["recorded"] == 2 and v["accepted"] == 1 and v["rejected"] == 1, v
assert r["clusters"]["must_links"] == 1, r["clusters"]
db = sqlite3.connect(sys.argv[2])
rows = db.execute("select author, source, decision, decided_at from link_decisions").fetchall()
assert sorted(x[2] for x in rows) == [3, 4] and all(x[0] == "analyst-1" and x[1] == "file" for x in rows), rows
run = db.execute("select max(id) from link_runs").fetchone()[0]
saved = dict(((a, b), d) for a, b, d in db.execute(
    "select min(case_a, case_b), max(case_a, case_b), decision from link_pairs where run_id = ?", (run,)))
acc = tuple(sorted(map(int, sys.argv[3:5])))
rej = tuple(sorted(map(int, sys.argv[5:7])))
assert saved.get(acc) == 3 and saved.get(rej) == 4, (saved.get(acc), saved.get(rej))
# the accepted pair comes back in the next review file with its verdict
rows = list(csv.DictReader(open(sys.argv[7])))
back = [x for x in rows if tuple(sorted((int(x["record_a"]), int(x["record_b"])))) == acc]
assert back and back[0]["decision"] == "match" and back[0]["linked"] == "1", back
' "$TMP/link_dec.json" "$DB" "$ACC_A" "$ACC_B" "$REJ_A" "$REJ_B" "$TMP/review2.csv"
run 0 "a later run without --decisions" -- link --store "$DB" --quiet
[ "$(same_person "$DB" "$ACC_A" "$ACC_B")$(same_person "$DB" "$REJ_A" "$REJ_B")" = 10 ] &&
    ok "a later run honours the verdicts" || not_ok "a later run forgot the verdicts"
# the review page records a verdict by changing the decision of a run's pair
# (src/serve/model.c): reject the accepted pair there, and the next run splits it
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
run = db.execute("select max(id) from link_runs").fetchone()[0]
db.execute("update link_runs set created_at = ? where id = ?", ("2999-01-01T00:00:00Z", run))
n = db.execute("""update link_pairs set decision = 4 where run_id = ? and
    min(case_a, case_b) = ? and max(case_a, case_b) = ?""",
    (run, min(int(sys.argv[2]), int(sys.argv[3])), max(int(sys.argv[2]), int(sys.argv[3])))).rowcount
db.commit()
assert n == 1, n' "$DB" "$ACC_A" "$ACC_B" && ok "a verdict recorded as the review page does" ||
    not_ok "could not record a review-page verdict"
run 0 "link after a review-page verdict" -- link --store "$DB" --quiet
[ "$(same_person "$DB" "$ACC_A" "$ACC_B")" = 0 ] && ok "the review page's verdict is honoured" ||
    not_ok "the review page's verdict was ignored"
# bad files: exit 65, file:line:column, nothing recorded
n_before=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from link_decisions").fetchone()[0])' "$DB")
sed '2s/,$/,maybe/' "$TMP/review.csv" >"$TMP/bad_decision.csv"
run 65 "--decisions: a decision not understood" -- link --store "$DB" --decisions "$TMP/bad_decision.csv"
expect_grep "the bad decision is located" "$TMP/err" "bad_decision.csv:2:7: .*decision"
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rows[0]["record_b"] = "999999"; rows[0]["decision"] = "1"
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader(); w.writerows(rows)' "$TMP/review.csv" "$TMP/bad_record.csv"
run 65 "--decisions: a record not in the store" -- link --store "$DB" --decisions "$TMP/bad_record.csv"
expect_grep "the unknown record is located" "$TMP/err" "bad_record.csv:2:5: .*record_b"
printf 'a,b\n1,2\n' >"$TMP/not_review.csv"
run 65 "--decisions: not a review file" -- link --store "$DB" --decisions "$TMP/not_review.csv"
n_after=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from link_decisions").fetchone()[0])' "$DB")
[ "$n_before" = "$n_after" ] && ok "refused files record nothing" || not_ok "refused files recorded verdicts"
run 0 "link --quiet prints nothing" -- link --store "$DB" --quiet
[ -s "$TMP/out" ] && not_ok "link --quiet printed something" || ok "link --quiet is quiet"

finish
