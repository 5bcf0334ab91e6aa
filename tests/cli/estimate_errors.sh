#!/bin/bash
# tests/cli/estimate_errors.sh: each bad input of issue 2 point 8 makes `rapporteur
# estimate` exit 65 with "rapporteur: FILE:LINE:COLUMN: message" on stderr and write no
# output file; a repeated pattern is summed with a note instead.

. "$(dirname "$0")/lib.bash"

D="$TMP/bad"
mkdir -p "$D"

# bad_input NAME LINE FILE [OPTIONS...]: expect exit 65, a located message naming FILE
# (at LINE unless LINE is "-"), and nothing written where --out pointed.
bad_input() {
    local name=$1 line=$2 file=$3
    shift 3
    run 65 "$name" -- estimate "$file" --out "$D/result.json" "$@"
    local f_re
    f_re=$(printf '%s' "$file" | sed 's/[][\.*^$/]/\\&/g')
    if [ "$line" = "-" ]; then
        expect_grep "$name: message has file:line:column" "$TMP/err" \
            "^rapporteur: $f_re:[0-9]+:[0-9]+: [a-z]"
    else
        expect_grep "$name: message has file:$line:column" "$TMP/err" \
            "^rapporteur: $f_re:$line:[0-9]+: [a-z]"
    fi
    local left
    left=$(find "$D" -name 'result.json' -o -name '.result.json.*' | head -n 1)
    if [ -z "$left" ]; then
        ok "$name: no output file"
    else
        not_ok "$name: output file left behind" "$left"
    fi
    if [ -s "$TMP/out" ]; then
        not_ok "$name: nothing on stdout" "$(head -c 200 "$TMP/out")"
    else
        ok "$name: nothing on stdout"
    fi
}

printf 'A,B,C\n1,0,0\n0,1,0\n1,1,0\n' >"$D/no_count.csv"
bad_input "missing count column (--form aggregated)" - "$D/no_count.csv" --form aggregated

printf 'A,B,count,count\n1,0,3,3\n0,1,4,4\n1,1,2,2\n' >"$D/two_counts.csv"
bad_input "repeated count column" 1 "$D/two_counts.csv"

printf 'A,B,count\n1,0,3\n0,1,4\n1,1,2\n' >"$D/extra_count.csv"
bad_input "count column in person form (--form person)" 1 "$D/extra_count.csv" --form person

printf 'A,B,C,count\n1,0,0,3\n0,2,0,4\n1,1,0,2\n' >"$D/value2.csv"
bad_input "list value other than 0/1" 3 "$D/value2.csv"

printf 'A,B,C,count\n1,0,0,3\n0,yes,0,4\n1,1,0,2\n' >"$D/value_word.csv"
bad_input "list value that is a word" 3 "$D/value_word.csv"

printf 'A,B,C,count\n1,0,0,3\n0,1,0,-4\n1,1,0,2\n' >"$D/negative.csv"
bad_input "negative count" 3 "$D/negative.csv"

printf 'A,B,C,count\n1,0,0,3\n0,1,0,4\n1,1,0,2.5\n' >"$D/fraction.csv"
bad_input "non-integer count" 4 "$D/fraction.csv"

printf 'A,B,C,count\n1,0,0,3\n0,0,0,4\n1,1,0,2\n' >"$D/all_zero.csv"
bad_input "all-zero pattern" 3 "$D/all_zero.csv"

printf 'A,count\n1,3\n' >"$D/one_list.csv"
bad_input "fewer than two lists" - "$D/one_list.csv"

{
    for i in $(seq 1 16); do printf 'L%d,' "$i"; done
    printf 'count\n'
    for i in $(seq 1 16); do printf '1,'; done
    printf '5\n'
} >"$D/sixteen_lists.csv"
bad_input "too many lists (16)" - "$D/sixteen_lists.csv"

: >"$D/empty.csv"
bad_input "empty file" - "$D/empty.csv"

printf 'A,B,count\n' >"$D/header_only.csv"
bad_input "header but no data rows" - "$D/header_only.csv"

printf 'A,B,count\n1,0,3\n\000\001\002\003binary\377\376\n' >"$D/binary.csv"
bad_input "binary file" - "$D/binary.csv"

printf 'A\351,B,count\n1,0,3\n0,1,4\n1,1,2\n' >"$D/latin1.csv"
bad_input "non-UTF-8 header" 1 "$D/latin1.csv"

printf 'A,B,C,count\n1,0,0,3\n0,1,4\n1,1,0,2\n' >"$D/ragged_short.csv"
bad_input "ragged row (too few fields)" 3 "$D/ragged_short.csv"

printf 'A,B,C,count\n1,0,0,3\n0,1,0,4,9\n1,1,0,2\n' >"$D/ragged_long.csv"
bad_input "ragged row (too many fields)" 3 "$D/ragged_long.csv"

# The reader's own bad fixtures (tests/fixtures/mse/bad_*.csv) fail the same way.
for f in "$FIXTURES"/bad_*.csv; do
    [ -e "$f" ] || continue
    bad_input "fixture $(basename "$f")" - "$f"
done

# The same under --json: the message still goes to stderr, and stdout holds an error object.
run 65 "bad input under --json" -- estimate "$D/value2.csv" --json --out "$D/result.json"
expect_grep "bad input under --json: message on stderr" "$TMP/err" '^rapporteur: .*value2\.csv:3:'
expect_python "bad input under --json: error object on stdout" '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["line"] == 3, e
assert e["path"].endswith("value2.csv"), e
' "$TMP/out"

# A file that cannot be read is an I/O error (4), not bad data.
run 4 "missing input file" -- estimate "$D/does-not-exist.csv" --out "$D/result.json"
expect_grep "missing input file: message" "$TMP/err" '^rapporteur: '
if [ -e "$D/result.json" ]; then not_ok "missing input file: no output"; else ok "missing input file: no output"; fi

# A repeated pattern is not an error: it is summed, and a note says so.
printf 'b,c,d,count\n1,0,0,5\n0,1,0,5\n0,0,1,41\n1,1,0,50\n1,0,1,6\n1,1,1,12\n1,1,0,4\n' \
    >"$D/repeated.csv"
run 0 "repeated pattern is summed" -- estimate "$D/repeated.csv" --json --out "$D/result.json"
expect_python "repeated pattern: same as Korea, with a note" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["observed"] == 123, r["observed"]
assert any("repeat" in n or "summed" in n for n in r["notes"]), r["notes"]
assert json.load(open(sys.argv[2])) == r
' "$TMP/out" "$D/result.json"

# An unwritable --out is an I/O error and leaves nothing behind.
run 4 "--out into a missing directory" -- estimate "$D/repeated.csv" --out "$D/nodir/r.json"

finish
