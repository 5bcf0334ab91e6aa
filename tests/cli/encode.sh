#!/bin/bash
# tests/cli/encode.sh: the agency-side encoding end to end. keygen writes key files with
# the right modes and never overwrites; key files others can read are refused; every
# agency file of a simulated scenario encodes with its mapping; a scan of everything
# encode writes (the submission, stdout, stderr) finds no name, birth date or document
# number of any simulated person, in native script, as the agency wrote it, lower-cased
# or transliterated; the same key gives byte-identical output and another key unrelated
# filters; seal and unseal round trip, and a wrong key or an altered byte is refused.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
SCEN="$RP_SRC/data/scenarios"

mode_of() { stat -c %a "$1"; }

# ---- keys ----
run 0 "keygen --secret" -- keygen --secret "$TMP/secret.key" --json
[ "$(mode_of "$TMP/secret.key")" = 600 ] && ok "secret file mode 0600" ||
    not_ok "secret file mode $(mode_of "$TMP/secret.key")"
run 4 "keygen never overwrites a secret" -- keygen --secret "$TMP/secret.key"
run 0 "keygen --hub" -- keygen --hub "$TMP/hub"
[ "$(mode_of "$TMP/hub.key")" = 600 ] && ok "hub key mode 0600" || not_ok "hub key mode"
[ "$(mode_of "$TMP/hub.pub")" = 644 ] && ok "hub public key mode 0644" || not_ok "hub pub mode"
run 0 "keygen a second secret" -- keygen --secret "$TMP/other.key" --quiet
run 2 "keygen with nothing to make" -- keygen
(umask 0 && "$R" keygen --secret "$TMP/umask.key" --quiet)
[ "$(mode_of "$TMP/umask.key")" = 600 ] && ok "secret mode 0600 even with umask 0" ||
    not_ok "umask 0 secret mode $(mode_of "$TMP/umask.key")"

# ---- a simulated scenario, every list encoded ----
"$R" simulate --config "$SCEN/small-national.json" --out "$TMP/sim" --seed 5 --quiet ||
    not_ok "simulate small-national"
lists=()
for csv in "$TMP"/sim/*.csv; do
    l=$(basename "$csv" .csv)
    case "$l" in truth | persons | captures) continue ;; esac
    lists+=("$l")
done
[ ${#lists[@]} -ge 3 ] && ok "scenario has ${#lists[@]} lists" || not_ok "too few lists"

for l in "${lists[@]}"; do
    run 0 "encode $l" -- encode "$TMP/sim/$l.csv" --mapping "$TMP/sim/$l.mapping.json" \
        --secret "$TMP/secret.key" --out "$TMP/$l.sub" --json
    cat "$TMP/out" "$TMP/err" >>"$TMP/console.txt"
    expect_python "$l: every row encoded" '
import json, sys
r = json.load(open(sys.argv[1]))
rows = sum(1 for _ in open(sys.argv[2], encoding="utf-8")) - 1
assert r["read"] == rows and r["encoded"] == rows and r["set_aside"] == 0, (r, rows)
' "$TMP/out" "$TMP/sim/$l.csv"
    [ "$(mode_of "$TMP/$l.sub")" = 600 ] && ok "$l: submission mode 0600" || not_ok "$l: mode"
done

# The leak scan. Tokens: every name word of every person (native script), every name
# word as the agencies wrote it (transliterated), lower-cased; birth dates in the forms
# the agencies use; document numbers; agency case references. The encodings themselves
# must be pure base64/hex of the right length (they cannot carry text); every other
# string in the submission is scanned, and so is everything encode printed.
cat >"$TMP/scan.py" <<'PYEOF'
import base64, csv, json, re, sys, os, glob
tmp, sim = sys.argv[1], sys.argv[2]
tokens = set()
def add_words(s):
    for w in re.split(r"[\s\-]+", s or ""):
        w = w.strip(".,'’").casefold()
        if len(w) >= 3:
            tokens.add(w)
persons = list(csv.DictReader(open(os.path.join(sim, "persons.csv"), encoding="utf-8")))
dates = set()
for p in persons:
    for k in ("given_name", "family_name", "patronymic"):
        add_words(p[k])
    y, m, d = p["birth_date"].split("-")
    dates |= {f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{d}/{m}/{y}", f"{d}-{m}-{y}", f"{y}{m}{d}"}
    if p["document_number"]:
        tokens.add(p["document_number"].casefold())
name_cols = {"Surname", "Forename", "Patronymic", "first_name", "last_name", "middle_name",
             "worker_name", "caller_name", "surname", "given_names", "full_name"}
case_ids = set()
for f in glob.glob(os.path.join(sim, "*.csv")):
    if os.path.basename(f) in ("truth.csv", "persons.csv", "captures.csv"):
        continue
    rows = list(csv.reader(open(f, encoding="utf-8"), delimiter=";" if ";" in open(f, encoding="utf-8").readline() else ","))
    hdr = rows[0]
    for r in rows[1:]:
        case_ids.add(r[0].casefold())
        for i, h in enumerate(hdr):
            if h in name_cols or "name" in h.lower():
                add_words(r[i])
tokens |= {d.casefold() for d in dates} | case_ids
# words that are also vocabulary of the format or the standard are not evidence
vocab = {"female", "male", "sexual", "labour", "other", "unknown", "presumed", "identified",
         "forced_labour", "rapporteur", "submission", "version", "schema", "records"}
# and list codes (a family name "Ngo" is not found in the list code "NGO")
vocab |= {os.path.basename(f)[:-4].casefold() for f in glob.glob(os.path.join(sim, "*.csv"))}
tokens -= vocab
assert len(tokens) > 1000, len(tokens)
b64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
long_tokens = [t for t in tokens if len(t) >= 6]
def scan_text(text, where):
    # every word of the text is checked against every token; tokens of 6 characters or
    # more (and every date form) are also searched as substrings
    low = text.casefold()
    for w in re.split(r"[^\w]+", low):
        if w in tokens:
            raise SystemExit(f"{where}: contains the identifier token {w!r} (simulated data)")
    for t in long_tokens:
        if t in low:
            raise SystemExit(f"{where}: contains the identifier token {t!r} (simulated data)")
def values(o):
    # the string and number values of a JSON document (its keys are the format's own
    # vocabulary: "registration_year" must not count as the surname "Istrati")
    if isinstance(o, dict):
        for v in o.values():
            yield from values(v)
    elif isinstance(o, list):
        for v in o:
            yield from values(v)
    elif o is not None and not isinstance(o, bool):
        yield str(o)
n = 0
for sub in glob.glob(os.path.join(tmp, "*.sub")):
    for i, line in enumerate(open(sub, encoding="utf-8")):
        o = json.loads(line)
        if i == 0 or "clk" not in o:
            scan_text("\n".join(values(o)), f"{sub}:{i+1}")
            continue
        clk = o.pop("clk")
        assert b64.match(clk), f"{sub}:{i+1}: clk is not base64"
        for v in (o.pop("fields", None) or {}).values():
            assert b64.match(v)
        for b in o.pop("blocks", []):
            assert re.match(r"^[a-z0-9_]+:[0-9a-f]{16}$", b), b
        assert re.match(r"^[0-9a-f]{32}$", o["id"]), o["id"]
        scan_text("\n".join(values(o)), f"{sub}:{i+1}")
        n += 1
scan_text(open(os.path.join(tmp, "console.txt"), encoding="utf-8").read(), "encode output")
assert n > 500, n
print(f"{n} records, {len(tokens)} tokens: clean")
PYEOF
if python3 "$TMP/scan.py" "$TMP" "$TMP/sim" >"$TMP/scan.out" 2>&1; then
    ok "leak scan: no identifier in any output of encode ($(tail -1 "$TMP/scan.out"))"
else
    not_ok "leak scan" "$(tail -3 "$TMP/scan.out")"
fi
# The scan itself must catch a leak: plant one family name in a copy of a submission.
mkdir -p "$TMP/planted"
cp "$TMP"/*.sub "$TMP/console.txt" "$TMP/planted/"
victim=$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], encoding="utf-8"))); print([p["family_name"] for p in r if len(p["family_name"]) >= 6][0])' "$TMP/sim/persons.csv")
first_sub=$(ls "$TMP"/planted/*.sub | head -1)
python3 - "$first_sub" "$victim" <<'PYEOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
o = json.loads(lines[1]); o["attrs"]["note"] = "seen with " + sys.argv[2]
lines[1] = json.dumps(o, ensure_ascii=False)
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PYEOF
if python3 "$TMP/scan.py" "$TMP/planted" "$TMP/sim" >/dev/null 2>&1; then
    not_ok "leak scan misses a planted family name"
else
    ok "leak scan catches a planted family name"
fi

# ---- same key: identical; other key: unrelated ----
l=${lists[0]}
run 0 "encode $l again with the same key" -- encode "$TMP/sim/$l.csv" \
    --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/secret.key" --out "$TMP/again.sub" --quiet
cmp -s "$TMP/$l.sub" "$TMP/again.sub" && ok "same key: byte-identical submission" ||
    not_ok "same key: submissions differ"
run 0 "encode $l with another key" -- encode "$TMP/sim/$l.csv" \
    --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/other.key" --out "$TMP/other.sub" --quiet
expect_python "another key: same records, unrelated filters" '
import base64, json, sys
def load(p):
    out = []
    for i, line in enumerate(open(p)):
        o = json.loads(line)
        if "clk" in o:
            out.append(int.from_bytes(base64.b64decode(o["clk"]), "little"))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b) and len(a) > 100
def dice(x, y):
    return 2 * bin(x & y).count("1") / (bin(x).count("1") + bin(y).count("1"))
same_record = sum(dice(x, y) for x, y in zip(a, b)) / len(a)
random_pairs = sum(dice(a[i], a[(i * 7 + 13) % len(a)]) for i in range(len(a))) / len(a)
# Under another key a record is as unrelated to itself as two independent random filters
# of the same densities (expected Dice 2 p q / (p + q) per pair), and less similar than
# two different people under one key (who share birth years, sex and common bigrams).
bits = 1024
indep = 0.0
for x, y in zip(a, b):
    p, q = bin(x).count("1") / bits, bin(y).count("1") / bits
    indep += 2 * p * q / (p + q)
indep /= len(a)
assert abs(same_record - indep) < 0.02, (same_record, indep)
assert same_record < random_pairs, (same_record, random_pairs)
' "$TMP/$l.sub" "$TMP/other.sub"

# ---- bad input: set aside by line, never by value; unusable schema or mapping ----
python3 - "$TMP/sim/POLICE.csv" "$TMP/bad.csv" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
hdr = lines[0].split(",")
row = lines[3].split(",")
row[hdr.index("DOB")] = "31/02/1990"      # not a calendar date
lines[3] = ",".join(row)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PYEOF
# by default the row is encoded with the year and month, and a warning (exit 0)
run 0 "a row with an impossible birth date is encoded in part" -- encode "$TMP/bad.csv" \
    --mapping "$TMP/sim/POLICE.mapping.json" --secret "$TMP/secret.key" --out "$TMP/part.sub" \
    --json
expect_grep "the warning names file, line and column" "$TMP/err" \
    'bad\.csv:4:[0-9]+: warning: DOB: expected a birth date as .*kept the year and month only'
expect_python "every row is encoded, one warning" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["set_aside"] == 0 and r["encoded"] == r["read"] and r["warnings"] == 1, r
' "$TMP/out"
if grep -q "31/02/1990" "$TMP/err" "$TMP/out"; then
    not_ok "the damaged birth date was printed"
else
    ok "the damaged birth date is not printed"
fi
# --strict-dates sets it aside
run 3 "a row with an impossible birth date is set aside" -- encode "$TMP/bad.csv" \
    --mapping "$TMP/sim/POLICE.mapping.json" --secret "$TMP/secret.key" --out "$TMP/bad.sub" \
    --json --strict-dates
expect_grep "set-aside row named by file and line" "$TMP/err" 'bad\.csv:4: set aside'
if grep -q "31/02/1990" "$TMP/err" "$TMP/out"; then
    not_ok "the rejected birth date was printed"
else
    ok "the rejected birth date is not printed"
fi
expect_python "the other rows are encoded" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["set_aside"] == 1 and r["encoded"] == r["read"] - 1 and r["warnings"] == 0, r
' "$TMP/out"
printf '{"l": 1000}\n' >"$TMP/bad-schema.json"
run 65 "a schema with a bad filter length" -- encode "$TMP/sim/POLICE.csv" \
    --mapping "$TMP/sim/POLICE.mapping.json" --secret "$TMP/secret.key" --out "$TMP/x.sub" \
    --schema "$TMP/bad-schema.json"
python3 - "$TMP/sim/POLICE.mapping.json" "$TMP/noid.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
m.pop("identifiers", None)
json.dump(m, open(sys.argv[2], "w"))
PYEOF
run 65 "a mapping without identifiers" -- encode "$TMP/sim/POLICE.csv" --mapping "$TMP/noid.json" \
    --secret "$TMP/secret.key" --out "$TMP/x.sub"
expect_grep "says there is nothing to encode" "$TMP/err" "nothing to encode"
[ -e "$TMP/x.sub" ] && not_ok "failed encode left a submission" || ok "failed encode left nothing"

# ---- key files others can read are refused ----
cp "$TMP/secret.key" "$TMP/open.key" && chmod 644 "$TMP/open.key"
run 4 "encode refuses a world-readable secret" -- encode "$TMP/sim/$l.csv" \
    --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/open.key" --out "$TMP/x.sub"
expect_grep "refusal says chmod 600" "$TMP/err" "600"
[ -e "$TMP/x.sub" ] && not_ok "refused encode wrote a file" || ok "refused encode wrote nothing"

# ---- an address column is encoded when the mapping names it (FEBRL4 file A) ----
cat >"$TMP/febrl.json" <<'EOF'
{"name": "febrl-a", "list": {"value": "A"},
 "fields": {"case_id": {"column": "rec_id"}},
 "identifiers": {"given_name": {"column": "given_name"}, "family_name": {"column": "surname"},
                 "document_number": {"column": "soc_sec_id"}, "address": {"column": "address_1"}}}
EOF
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); del m["identifiers"]["address"]; json.dump(m, open(sys.argv[2], "w"))' \
    "$TMP/febrl.json" "$TMP/febrl-noaddr.json"
head -201 "$RP_SRC/data/linkage/febrl4/a.csv" >"$TMP/febrl-a.csv"
run 0 "encode FEBRL4 records with an address" -- encode "$TMP/febrl-a.csv" --mapping "$TMP/febrl.json" \
    --secret "$TMP/secret.key" --out "$TMP/febrl.sub" --quiet
run 0 "encode them without it" -- encode "$TMP/febrl-a.csv" --mapping "$TMP/febrl-noaddr.json" \
    --secret "$TMP/secret.key" --out "$TMP/febrl-noaddr.sub" --quiet
expect_python "the address adds bits to every record that has one" '
import base64, csv, json, sys
def clks(p):
    return [int.from_bytes(base64.b64decode(json.loads(l)["clk"]), "little")
            for l in open(p) if "\"clk\"" in l]
a, b = clks(sys.argv[1]), clks(sys.argv[2])
rows = list(csv.DictReader(open(sys.argv[3])))
assert len(a) == len(b) == len(rows) == 200
for x, y, r in zip(a, b, rows):
    if r["address_1"].strip():
        assert x != y and (x & y) == y, r["rec_id"]   # a superset of the bits
    else:
        assert x == y
' "$TMP/febrl.sub" "$TMP/febrl-noaddr.sub" "$TMP/febrl-a.csv"

# ---- outputs are never overwritten ----
cp "$TMP/sim/$l.csv" "$TMP/keep.csv"
run 4 "encode refuses to overwrite its own input" -- encode "$TMP/keep.csv" \
    --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/secret.key" --out "$TMP/keep.csv"
cmp -s "$TMP/sim/$l.csv" "$TMP/keep.csv" && ok "input left as it was" || not_ok "input changed"
run 4 "seal refuses to overwrite a key file" -- seal "$TMP/$l.sub" --to "$TMP/hub.pub" \
    --out "$TMP/secret.key"

# ---- seal and unseal ----
run 0 "seal a submission" -- seal "$TMP/$l.sub" --to "$TMP/hub.pub" --out "$TMP/s.sealed"
run 0 "unseal it with the hub key" -- unseal "$TMP/s.sealed" --hub-key "$TMP/hub.key" --out "$TMP/s.open"
cmp -s "$TMP/$l.sub" "$TMP/s.open" && ok "seal round trip" || not_ok "unsealed differs"
"$R" keygen --hub "$TMP/hub2" --quiet
run 4 "unseal with another hub key" -- unseal "$TMP/s.sealed" --key "$TMP/hub2.key" --out "$TMP/s2.open"
[ -e "$TMP/s2.open" ] && not_ok "wrong key wrote output" || ok "wrong key: no output"
python3 - "$TMP/s.sealed" "$TMP/s.bad" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 1
open(sys.argv[2], "wb").write(b)
EOF
run 4 "unseal an altered file" -- unseal "$TMP/s.bad" --key "$TMP/hub.key" --out "$TMP/s3.open"
chmod 644 "$TMP/hub.key"
run 4 "unseal refuses a world-readable hub key" -- unseal "$TMP/s.sealed" --key "$TMP/hub.key" --out "$TMP/s4.open"
chmod 600 "$TMP/hub.key"

finish
