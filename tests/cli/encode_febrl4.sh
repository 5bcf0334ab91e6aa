#!/bin/bash
# tests/cli/encode_febrl4.sh: issue 5's acceptance through the command line. FEBRL4
# (data/linkage/febrl4) encoded with the default schema, a fixed linkage secret
# (tests/fixtures/keys/febrl4-test.key, so that the figures are the same on every run) and
# the shipped mappings (data/mappings/febrl4-*.json: six address columns joined into one
# address), imported and linked (scripts/eval-febrl4-cli): `link --one-to-one` reaches
# F1 >= 0.997 against the ground truth; every row is encoded (the rows without a name have
# a birth date, a document number and an address), the 64 damaged birth dates of b.csv are
# warnings that name file, line and column but no value, with one summary warning (more
# than 1% of the rows), and --strict-dates sets those rows aside (exit 3). Then, on small
# made-up files: which rows without a name are encoded; a birth date whose shape fits no
# format is an error, and many dates read in part give a summary warning; long joined
# identifiers; the address in the place's language; house numbers count in the address
# except under a normalise_version 1 schema.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
DATA="$RP_SRC/data/linkage/febrl4"
MAPS="$RP_SRC/data/mappings"
# key files must be 0600, which git does not keep
KEY="$TMP/febrl4-test.key"
cp "$RP_SRC/tests/fixtures/keys/febrl4-test.key" "$KEY"
chmod 600 "$KEY"

# ---- the whole chain, scored ----
st=0
"$RP_SRC/scripts/eval-febrl4-cli" --bin "$R" --json --keep "$TMP/chain" --secret "$KEY" \
    >"$TMP/eval.json" 2>"$TMP/eval.err" || st=$?
if [ "$st" -eq 0 ]; then
    ok "eval-febrl4-cli: F1 of link --one-to-one >= 0.997"
else
    not_ok "eval-febrl4-cli exit $st" "$(head -c 600 "$TMP/eval.json")" "$(head -c 400 "$TMP/eval.err")"
fi
expect_python "one-to-one and default figures" '
import json, sys
r = json.load(open(sys.argv[1]))
o, d = r["one_to_one"], r["default"]
print("# one-to-one P %.4f R %.4f F1 %.4f; default P %.4f R %.4f F1 %.4f"
      % (o["precision"], o["recall"], o["f1"], d["precision"], d["recall"], d["f1"]))
assert r["true_pairs"] == 5000, r
assert o["f1"] >= 0.997 and o["precision"] >= 0.999, o
assert d["f1"] >= 0.98, d   # the default link: about 0.985..0.988
' "$TMP/eval.json"
expect_python "every row encoded; 64 birth dates of b.csv read in part" '
import json, sys
e = json.load(open(sys.argv[1]))["encode"]
assert e["a"] == {"read": 5000, "encoded": 5000, "set_aside": 0, "warnings": 0}, e["a"]
assert e["b"] == {"read": 5000, "encoded": 5000, "set_aside": 0, "warnings": 64}, e["b"]
' "$TMP/eval.json"
expect_python "the rows without a name have a birth date, a document and an address" '
import csv, sys
n = 0
for l in "ab":
    for r in csv.DictReader(open(f"{sys.argv[1]}/{l}.csv", encoding="utf-8")):
        if r["given_name"].strip() or r["surname"].strip():
            continue
        n += 1
        assert r["date_of_birth"].strip() and r["soc_sec_id"].strip() and r["address_1"].strip()
print(f"# {n} rows without a name, all encoded")
assert n > 0
' "$DATA"
expect_python "warnings name file, line and column, never the date; one summary" '
import csv, json, re, sys
err = open(sys.argv[1], encoding="utf-8").read().splitlines()
rows = list(csv.DictReader(open(sys.argv[2], encoding="utf-8")))
warn = [l for l in err if ": warning: " in l]
summary = [l for l in err if ": WARNING: " in l]
assert len(warn) == 64 and len(summary) == 1 and len(err) == 65, (len(warn), len(summary), len(err))
for l in warn:
    m = re.match(r"rapporteur: .*/b\.csv:(\d+):11: warning: date_of_birth: expected a birth date as %Y%m%d with a year in 1900\.\.2100; kept the year( and month)? only$", l)
    assert m, l
    dob = rows[int(m.group(1)) - 2]["date_of_birth"]
    assert dob not in l and not re.search(r"\d{8}", l), l
assert re.match(r"rapporteur: .*/b\.csv: WARNING: 64 of 5000 rows \(1\.3%\) have a birth date read in part \(column .date_of_birth.\): .*\"format\"", summary[0]), summary[0]
j = json.load(open(sys.argv[3]))
assert j["dates_read_in_part"] == 64 and j["format_warning"].startswith("64 of 5000 rows"), j
assert json.load(open(sys.argv[4]))["format_warning"] is None
' "$TMP/chain/enc_b.err" "$DATA/b.csv" "$TMP/chain/enc_b.json" "$TMP/chain/enc_a.json"

# ---- --strict-dates: the old behaviour ----
run 3 "encode --strict-dates sets the damaged dates aside" -- encode "$DATA/b.csv" \
    --mapping "$MAPS/febrl4-b.json" --secret "$KEY" --out "$TMP/strict.sub" \
    --strict-dates --json
expect_python "--strict-dates: 64 set aside, no warning" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["set_aside"] == 64 and r["encoded"] == 4936 and r["warnings"] == 0, r
assert r["format_warning"] is None, r
' "$TMP/out"
expect_grep "--strict-dates names the format" "$TMP/err" "b.csv:24: set aside: .*'date_of_birth'.*%Y%m%d"

# ---- rows without a name: encoded only with enough else to tell people apart ----
# line 2: a name (and 31 April); 3: a birth date alone; 4: a house number alone; 5:
# nothing; 6: a document number of 7 characters; 7: a name (month 13); 8: an address
# alone; 9: a complete birth date and an address with letters; 10: a birth year and an
# address; 11: a document number of 3 characters and a birth date; 12: a birth date and an
# address without letters; 13: 31 February (read in part: not complete) and an address
cat >"$TMP/few.csv" <<'EOF'
id,first,last,dob,doc,street,town
1,Anna,Berg,1990-04-31,X1234567,1 Main St,Springfield
2,,,1985-02-03,,,
3,,,,,12,
4,,,,,,
5,,,,AB-99812,,
6,Olga,Petrenko,1990-13-01,,,
7,,,,,1 Main St,Springfield
8,,,1985-02-03,,2 Oak Rd,Dover
9,,,1985,,2 Oak Rd,Dover
10,,,1985-02-03,A-12,,
11,,,1985-02-03,,12,4000
12,,,1985-02-31,,2 Oak Rd,Dover
EOF
cat >"$TMP/few.json" <<'EOF'
{"name": "few", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"}, "family_name": {"column": "last"},
  "birth_date": {"column": "dob", "format": ["%Y-%m-%d", "%Y"]},
  "document_number": {"column": "doc"}, "address": {"columns": ["street", "town"]}}}
EOF
run 3 "rows without a name and too little else are set aside" -- encode "$TMP/few.csv" \
    --mapping "$TMP/few.json" --secret "$KEY" --out "$TMP/few.sub" --json
expect_python "4 encoded, 8 set aside; warnings only of rows encoded" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["read"] == 12 and r["encoded"] == 4 and r["set_aside"] == 8 and r["warnings"] == 2, r
assert r["dates_read_in_part"] == 2 and r["format_warning"] is None, r
' "$TMP/out"
expect_python "each row set aside says what is missing, never a value" '
import re, sys
err = open(sys.argv[1], encoding="utf-8").read()
doc, date, addr = ("a document number of at least 5 letters or digits",
                   "a complete birth date \\(year, month and day\\)", "an address with letters")
want = {3: f"{doc} and {addr}", 4: f"{doc}, {date} and {addr}", 5: f"{doc}, {date} and {addr}",
        8: f"{doc} and {date}", 10: f"{doc} and {date}", 11: f"{doc} and {addr}",
        12: f"{doc} and {addr}", 13: f"{doc} and {date}"}
for line, missing in want.items():
    pat = (rf"few\.csv:{line}: set aside: no given or family name, and too little else to tell "
           rf"people apart: "
           rf"missing {missing} \(a row without a name needs such a document number, or a "
           rf"complete birth date and an address with letters\)\n")
    assert re.search(pat, err), (line, pat)
assert len(re.findall("set aside", err)) == 8, err
for v in ("1985", "Oak", "Main", "A-12", "4000", "AB-99812"):
    assert v not in err, v
' "$TMP/err"
expect_grep "31 April keeps year and month" "$TMP/err" "few.csv:2:4: warning: dob: .*kept the year and month only"
expect_grep "month 13 keeps the year" "$TMP/err" "few.csv:7:4: warning: dob: .*kept the year only"
if grep -q "few.csv:13:4: warning" "$TMP/err"; then
    not_ok "a row set aside has no warning (nor is it counted)"
else
    ok "a row set aside has no warning (nor is it counted)"
fi
expect_python "the rows encoded have distinct encodings" '
import json, sys
clk = [json.loads(l)["clk"] for l in open(sys.argv[1], encoding="utf-8") if "\"clk\"" in l]
assert len(clk) == 4 and len(set(clk)) == 4, len(clk)
' "$TMP/few.sub"
# a patronymic alone is no name: every Ivanovna born in 1985 would share it
printf 'id,first,pat,dob\n1,,Ivanovna,1985\n2,Olga,Ivanovna,1985\n' >"$TMP/pat.csv"
cat >"$TMP/pat.json" <<'EOF'
{"name": "pat", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"}, "patronymic": {"column": "pat"},
  "birth_date": {"column": "dob", "format": "%Y"}}}
EOF
run 3 "a row with a patronymic alone is set aside" -- encode "$TMP/pat.csv" \
    --mapping "$TMP/pat.json" --secret "$KEY" --out "$TMP/pat.sub"
expect_grep "... as a row without a name" "$TMP/err" \
    "pat.csv:2: set aside: no given or family name, and too little else"
sed -i -E '/^(2|3|4|7|9|10|11|12),/d' "$TMP/few.csv"
run 0 "warnings alone exit 0" -- encode "$TMP/few.csv" --mapping "$TMP/few.json" \
    --secret "$KEY" --out "$TMP/few2.sub"
expect_grep "the summary counts the warnings" "$TMP/out" \
    "Encoded 4 of 4 records.*2 birth dates read in part \(see the warnings above\)"

# ---- a birth date of no format's shape is an error; a part out of range a warning ----
python3 - "$TMP/dates.csv" <<'PYEOF'
import sys
rows = ["id,first,dob"]
rows += [f"{i},Anna,1990-{i:02d}-03" for i in range(1, 13)]  # fine
rows += ["13,Anna,03/04/1990",  # the shape of no format: set aside
         "14,Anna,1990-00-03",  # month 00: the year is kept
         "15,Anna,1990-04-00",  # day 00: the year and month
         "16,Anna,1850-04-03",  # year out of range: set aside
         "17,Anna,"]            # empty: missing
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PYEOF
cat >"$TMP/dates.json" <<'EOF'
{"name": "dates", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"},
  "birth_date": {"column": "dob", "format": "%Y-%m-%d"}}}
EOF
run 3 "a birth date whose shape fits no format is set aside" -- encode "$TMP/dates.csv" \
    --mapping "$TMP/dates.json" --secret "$KEY" --out "$TMP/dates.sub" --json
expect_python "two set aside, two read in part, below the summary threshold" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["read"] == 17 and r["encoded"] == 15 and r["set_aside"] == 2, r
assert r["dates_read_in_part"] == 2 and r["format_warning"] is None, r
' "$TMP/out"
expect_grep "no format's shape: set aside" "$TMP/err" \
    "dates.csv:14: set aside: .*column 'dob' \(identifier 'birth_date'\): expected a calendar date as %Y-%m-%d"
expect_grep "a year out of range: set aside" "$TMP/err" "dates.csv:17: set aside: .*'dob'"
expect_grep "month 00 keeps the year" "$TMP/err" "dates.csv:15:3: warning: dob: .*kept the year only"
expect_grep "day 00 keeps the year and month" "$TMP/err" \
    "dates.csv:16:3: warning: dob: .*kept the year and month only"
# a wrong format: day and month swapped, so that every "month" is out of range
cat >"$TMP/swapped.json" <<'EOF'
{"name": "swapped", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"},
  "birth_date": {"column": "dob", "format": "%Y-%d-%m"}}}
EOF
python3 - "$TMP/swapped.csv" <<'PYEOF'
import sys
rows = ["id,first,dob"] + [f"{i},Anna,1990-04-{i + 12:02d}" for i in range(1, 13)]
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PYEOF
run 0 "a wrong format: every date read in part (exit 0)" -- encode "$TMP/swapped.csv" \
    --mapping "$TMP/swapped.json" --secret "$KEY" --out "$TMP/swapped.sub"
expect_grep "one summary warning suggests the format is wrong" "$TMP/err" \
    "swapped.csv: WARNING: 12 of 12 rows \(100\.0%\) have a birth date read in part \(column 'dob'\): .*birth_date \"format\" is not the file's"
run 0 "the same under --json" -- encode "$TMP/swapped.csv" --mapping "$TMP/swapped.json" \
    --secret "$KEY" --out "$TMP/swapped2.sub" --json
expect_python "--json carries the summary warning" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dates_read_in_part"] == 12 and r["format_warning"].startswith("12 of 12 rows"), r
' "$TMP/out"
expect_grep "... and stderr too" "$TMP/err" "swapped.csv: WARNING: 12 of 12 rows"
sed -i -E '/^1[012],/d' "$TMP/swapped.csv"
run 0 "9 dates read in part: under the minimum of 10" -- encode "$TMP/swapped.csv" \
    --mapping "$TMP/swapped.json" --secret "$KEY" --out "$TMP/swapped3.sub" --json
expect_python "no summary warning under 10 rows" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dates_read_in_part"] == 9 and r["format_warning"] is None, r
' "$TMP/out"

# a format of another shape: every dated row set aside, one summary warning, exit 3
cat >"$TMP/slashed.json" <<'EOF'
{"name": "slashed", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"},
  "birth_date": {"column": "dob", "format": "%d/%m/%Y"}}}
EOF
python3 - "$TMP/slashed.csv" <<'PYEOF'
import sys
rows = ["id,first,dob"] + [f"{i},Anna,1990-04-{i + 12:02d}" for i in range(1, 13)]
rows.append("13,Anna,")  # no date: encoded from the name, not counted
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PYEOF
run 3 "a format of another shape: every dated row set aside (exit 3)" -- encode \
    "$TMP/slashed.csv" --mapping "$TMP/slashed.json" --secret "$KEY" --out "$TMP/slashed.sub" --json
expect_python "--json: 12 set aside, the summary warning counts them" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["set_aside"] == 12 and r["encoded"] == 1 and r["dates_read_in_part"] == 0, r
assert r["format_warning"].startswith("12 of 13 rows (92.3%) were set aside for a birth date that could not be read (column"), r
' "$TMP/out"
expect_grep "... and on stderr" "$TMP/err" \
    "slashed.csv: WARNING: 12 of 13 rows \(92\.3%\) were set aside for a birth date that could not be read"

# ---- long joined identifiers: an address is cut at a word, a name is an error ----
python3 - "$TMP/long.csv" <<'PYEOF'
import sys
words = " ".join(f"street{i:03d}" for i in range(22))   # 219 bytes
rows = ["id,g1,g2,a1,a2",
        f"1,Anna,Maria,{words},{words}",                   # an address of 439 bytes: cut
        f"2,{'x' * 150},{'y' * 150},Main St,Springfield",  # a given name of 301 bytes
        "3,Olga,,Main St,Springfield",
        # 79 bytes that NFKC and transliteration make some 400: cut after normalisation
        "4,Olga,," + " ".join(["\ufdfa"] * 20) + ","]
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PYEOF
cat >"$TMP/long.json" <<'EOF'
{"name": "long", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"columns": ["g1", "g2"]}, "address": {"columns": ["a1", "a2"]}}}
EOF
run 3 "long addresses are cut, a long name set aside" -- encode "$TMP/long.csv" \
    --mapping "$TMP/long.json" --secret "$KEY" --out "$TMP/long.sub" --json
expect_python "3 encoded, 1 set aside, 2 addresses cut" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["encoded"] == 3 and r["set_aside"] == 1 and r["addresses_cut"] == 2, r
assert r["warnings"] == 2, r
' "$TMP/out"
expect_grep "the address cut is a warning" "$TMP/err" \
    "long.csv:2:4: warning: a1: the address \(columns 'a1' and 'a2' \(joined\)\) is longer than 255 bytes: cut at a word boundary"
expect_grep "the address too long once normalised is cut too" "$TMP/err" \
    "long.csv:5: warning: address: the normalised address is longer than 255 bytes: cut at a word boundary"
expect_grep "the long name names every column" "$TMP/err" \
    "long.csv:3: set aside: .*columns 'g1' and 'g2' \(joined\) \(identifier 'given_name'\): the value does not fit in 256 bytes"
if grep -q "street0\|xxxx" "$TMP/err"; then
    not_ok "no value in the messages"
else
    ok "no value in the messages"
fi

# ---- an address is normalised in the place's language, not the person's ----
cat >"$TMP/lang.csv" <<'EOF'
id,nat,doc,addr
1,UA,CD123456,улица Гоголя 5 Москва
2,RU,CD123456,улица Гоголя 5 Москва
EOF
cat >"$TMP/lang.json" <<'EOF'
{"name": "lang", "list": {"value": "L"},
 "fields": {"case_id": {"column": "id"}, "citizenship": {"column": "nat"}},
 "identifiers": {"document_number": {"column": "doc"}, "address": {"column": "addr"}}}
EOF
run 0 "encode one address for two citizenships" -- encode "$TMP/lang.csv" \
    --mapping "$TMP/lang.json" --secret "$KEY" --out "$TMP/lang.sub"
expect_python "the citizenship does not change the address" '
import json, sys
clk = [json.loads(l)["clk"] for l in open(sys.argv[1], encoding="utf-8") if "\"clk\"" in l]
assert len(clk) == 2 and clk[0] == clk[1]
' "$TMP/lang.sub"

# ---- the address keeps its numbers; a normalise_version 1 schema drops them, as v1 did ----
printf 'id,first,street,town\n1,Anna,12 Main St,Springfield\n2,Anna,Main St,Springfield\n' \
    >"$TMP/addr.csv"
cat >"$TMP/addr.json" <<'EOF'
{"name": "addr", "list": {"value": "L"}, "fields": {"case_id": {"column": "id"}},
 "identifiers": {"given_name": {"column": "first"}, "address": {"columns": ["street", "town"]}}}
EOF
printf '{"version": 1, "normalise_version": 1}\n' >"$TMP/v1.json"
run 0 "encode with the default schema" -- encode "$TMP/addr.csv" --mapping "$TMP/addr.json" \
    --secret "$KEY" --out "$TMP/v2.sub"
run 0 "encode with a normalise_version 1 schema" -- encode "$TMP/addr.csv" \
    --mapping "$TMP/addr.json" --secret "$KEY" --out "$TMP/v1.sub" \
    --schema "$TMP/v1.json"
expect_python "house numbers count from normalise_version 2 on" '
import json, sys
def clks(path):
    lines = [json.loads(l) for l in open(path, encoding="utf-8")]
    return lines[0]["schema"]["normalise_version"], [l["clk"] for l in lines if "clk" in l]
v2, c2 = clks(sys.argv[1])
v1, c1 = clks(sys.argv[2])
assert (v1, v2) == (1, 2), (v1, v2)
assert c2[0] != c2[1], "v2: the house number is encoded"
assert c1[0] == c1[1], "v1: the house number is dropped"
' "$TMP/v2.sub" "$TMP/v1.sub"

finish
