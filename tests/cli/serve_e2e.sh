#!/bin/bash
# tests/cli/serve_e2e.sh: the browser test of `rapporteur serve` (tests/e2e/e2e.mjs).
# playwright-core comes from npm: `npm ci` from the committed tests/e2e/package-lock.json
# into e2e-node/ in the build directory (reused while the lock file is unchanged; nothing
# is downloaded but the package: Chromium is Debian's /usr/bin/chromium). Skipped, with
# a note, where node or chromium is missing; scripts/deps.txt installs both, so CI runs
# it. Screenshots are left in e2e-shots/ of the build directory for a person to look at.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
E2E_SRC="$RP_SRC/tests/e2e"
if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ ! -x /usr/bin/chromium ]; then
    ok "# SKIP node, npm or /usr/bin/chromium missing: no browser test"
    finish
    exit 0
fi

# ---- playwright-core, pinned by the lock file ----
NODE_DIR="$PWD/e2e-node"
mkdir -p "$NODE_DIR"
if ! cmp -s "$E2E_SRC/package-lock.json" "$NODE_DIR/package-lock.json" ||
    [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    cp "$E2E_SRC/package.json" "$E2E_SRC/package-lock.json" "$NODE_DIR/"
    if (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund >npm.log 2>&1); then
        ok "npm ci playwright-core"
    else
        not_ok "npm ci playwright-core" "$(tail -5 "$NODE_DIR/npm.log")"
        finish
        exit 1
    fi
fi
cp "$E2E_SRC/e2e.mjs" "$NODE_DIR/e2e.mjs"

# ---- data: three sealed submissions, recommendations, one analyst ----
DB="$TMP/store.db"
"$R" simulate --config "$RP_SRC/data/scenarios/small-national.json" --out "$TMP/sim" --seed 7 \
    --quiet || not_ok "simulate"
"$R" keygen --secret "$TMP/secret.key" --quiet && "$R" keygen --hub "$TMP/hub" --quiet ||
    not_ok "keygen"
lists=()
for csv in "$TMP"/sim/*.csv; do
    l=$(basename "$csv" .csv)
    case "$l" in truth | persons | captures) continue ;; esac
    "$R" encode "$csv" --mapping "$TMP/sim/$l.mapping.json" --secret "$TMP/secret.key" \
        --out "$TMP/$l.sub" --quiet && "$R" seal "$TMP/$l.sub" --to "$TMP/hub.pub" \
        --out "$TMP/$l.sealed" >/dev/null || not_ok "encode and seal $l"
    lists+=("$l")
done
"$R" init --store "$DB" --quiet
printf 'e2e-analyst-password\n' | "$R" serve user add ann --role analyst --store "$DB" --quiet
"$R" recs import "$RP_SRC/data/recs/example.json" --store "$DB" --author e2e --quiet ||
    not_ok "recs import"

"$R" serve --store "$DB" --port 0 --port-file "$TMP/port" --hub-key "$TMP/hub.key" \
    2>"$TMP/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do
    [ -s "$TMP/port" ] && break
    sleep 0.05
done
PORT=$(cat "$TMP/port")
BASE="http://127.0.0.1:$PORT"

# All lists but the last are uploaded through the API; the browser uploads the last.
curl -s -c "$TMP/cj" -H 'Content-Type: application/json' \
    -d '{"user": "ann", "password": "e2e-analyst-password"}' "$BASE/api/v1/login" >"$TMP/s.json"
csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$TMP/s.json")
n=${#lists[@]}
for l in "${lists[@]:0:n-1}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "$TMP/cj" -H "X-CSRF-Token: $csrf" \
        -F "file=@$TMP/$l.sealed" "$BASE/api/v1/submissions")
    [ "$code" = 201 ] && ok "API upload of $l" || not_ok "API upload of $l: $code"
done

# ---- the browser ----
SHOTS="$PWD/e2e-shots"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
while IFS= read -r line; do
    case "$line" in
    ok\ -\ *) ok "${line#ok - }" ;;
    not\ ok\ -\ *) not_ok "${line#not ok - }" ;;
    \#*) ;;
    *) echo "# $line" ;;
    esac
done < <(cd "$NODE_DIR" && node e2e.mjs "$BASE" "$SHOTS" "$TMP/${lists[n - 1]}.sealed" "$R" "$DB" \
    ann e2e-analyst-password 2>&1)
finish
