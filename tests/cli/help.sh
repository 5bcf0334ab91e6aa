#!/bin/bash
# tests/cli/help.sh: every command answers --help and `help <cmd>` with its usage and
# exit 0 (git t0012); --version works; unknown commands and options are usage errors (2).

. "$(dirname "$0")/lib.bash"

run 0 "--help" -- --help
expect_grep "--help prints usage" "$TMP/out" '^usage: rapporteur'
cp "$TMP/out" "$TMP/toplevel"

run 0 "--version" -- --version
expect_grep "--version prints the version" "$TMP/out" '^rapporteur [0-9]+\.[0-9]+\.[0-9]+'

run 0 "help without a command" -- help
expect_grep "help prints usage" "$TMP/out" '^usage: rapporteur'

# The commands are read from the top-level help, so a new command is covered at once.
cmds=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ { on = 0 }' \
    "$TMP/toplevel")
if [ -z "$cmds" ]; then
    not_ok "top-level help lists commands"
fi
for cmd in $cmds; do
    run 0 "$cmd --help" -- "$cmd" --help
    expect_grep "$cmd --help prints its usage" "$TMP/out" "^usage: rapporteur $cmd"
    run 0 "help $cmd" -- help "$cmd"
    expect_grep "help $cmd prints its usage" "$TMP/out" "^usage: rapporteur $cmd"
    run 0 "$cmd -h" -- "$cmd" -h
done

run 2 "no command" --
expect_grep "no command prints usage on stderr" "$TMP/err" '^usage: rapporteur'
run 2 "unknown command" -- frobnicate
expect_grep "unknown command is named" "$TMP/err" "'frobnicate' is not a rapporteur command"
run 2 "help for an unknown command" -- help frobnicate
run 2 "unknown top-level option" -- --frobnicate

run 2 "estimate without FILE" -- estimate
expect_grep "estimate without FILE says so" "$TMP/err" '^rapporteur: estimate: no input FILE'
run 2 "estimate with an unknown option" -- estimate x.csv --frobnicate
expect_grep "unknown option is named" "$TMP/err" "unknown option '--frobnicate'"
run 2 "estimate option without its value" -- estimate x.csv --level
run 2 "estimate --method nonsense" -- estimate x.csv --method nonsense
run 2 "estimate --method fixed without --model" -- estimate x.csv --method fixed
run 2 "estimate --model with --method bic" -- estimate x.csv --model "A*B" --method bic
run 2 "estimate --level out of range" -- estimate x.csv --level 1.5
run 2 "estimate --bootstrap negative" -- estimate x.csv --bootstrap -3
run 2 "estimate --form nonsense" -- estimate x.csv --form wide
run 2 "estimate with two files" -- estimate x.csv y.csv

finish
