# tests/cli/lib.bash: shared helpers for the CLI end-to-end tests (git t/test-lib.sh in
# miniature). Sourced, never run: the .bash suffix keeps CMake's tests/cli/*.sh glob off it.
# Needs RP_BIN (the rapporteur binary) and RP_SRC (the source tree) in the environment.

set -u

: "${RP_BIN:?RP_BIN must name the rapporteur binary}"
: "${RP_SRC:?RP_SRC must name the source tree}"

FIXTURES="$RP_SRC/tests/fixtures/mse"
GOLDEN="$RP_SRC/tests/golden"
n_ok=0
n_fail=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rp-cli-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() {
    n_ok=$((n_ok + 1))
    echo "ok $((n_ok + n_fail)) - $1"
}

not_ok() {
    n_fail=$((n_fail + 1))
    echo "not ok $((n_ok + n_fail)) - $1"
    shift
    for line in "$@"; do
        echo "#   $line"
    done
}

# run EXPECTED_STATUS NAME -- ARGS...: run rapporteur with stdout in $TMP/out and stderr in
# $TMP/err; report a failure when the exit status differs.
run() {
    local want=$1 name=$2
    shift 3
    local got=0
    "$RP_BIN" "$@" >"$TMP/out" 2>"$TMP/err" || got=$?
    if [ "$got" -eq "$want" ]; then
        ok "$name (exit $got)"
        return 0
    fi
    not_ok "$name: exit $got, expected $want" "args: $*" "stderr: $(head -c 400 "$TMP/err")"
    return 1
}

# expect_grep NAME FILE REGEX: FILE must contain a line matching the extended REGEX.
expect_grep() {
    if grep -Eq -- "$3" "$2"; then
        ok "$1"
    else
        not_ok "$1: no line matches /$3/" "$(head -c 400 "$2")"
    fi
}

# expect_python NAME SCRIPT ARGS...: a python3 check (standard library only) that exits 0.
expect_python() {
    local name=$1 script=$2
    shift 2
    local msg
    if msg=$(python3 -c "$script" "$@" 2>&1); then
        ok "$name"
    else
        not_ok "$name" "$msg"
    fi
}

finish() {
    echo "# $n_ok passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
