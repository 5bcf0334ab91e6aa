#!/bin/bash
# tests/cli/serve.sh: `rapporteur serve` over real HTTP on a free loopback port. Accounts
# (password from a file or stdin, never argv), log-in of every role, the role matrix over
# every route of the server's own table, CSRF and origin checks, path traversal, body
# limits (413), malformed and random requests that must not bring it down, uploads of
# sealed submissions with their validation reports (submitters see their agency only),
# linkage and clerical review, the overview's estimate, the audit trail, HTTPS with a
# self-signed certificate, and login rate limiting. The HTTP side is serve_http.py.

. "$(dirname "$0")/lib.bash"

R="$RP_BIN"
PY="$(dirname "$0")/serve_http.py"
DB="$TMP/store.db"
STATE="$TMP/state"
mkdir -p "$STATE"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; rm -rf "$TMP"' EXIT

# check NAME ARGS...: run a serve_http.py check and record each of its lines.
check() {
    local line
    while IFS= read -r line; do
        case "$line" in
        OK\ *) ok "${line#OK }" ;;
        FAIL\ *) not_ok "${line#FAIL }" ;;
        *) not_ok "serve_http.py said: $line" ;;
        esac
    done < <(python3 "$PY" "$@" 2>&1)
}

# start_server NAME ARGS...: start `rapporteur serve` on port 0; sets $PORT.
start_server() {
    local name=$1
    shift
    rm -f "$TMP/$name.port"
    "$R" serve --store "$DB" --port 0 --port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
    pids+=($!)
    for _ in $(seq 1 100); do
        [ -s "$TMP/$name.port" ] && break
        sleep 0.05
    done
    PORT=$(cat "$TMP/$name.port" 2>/dev/null)
    [ -n "$PORT" ] && ok "$name server listening on port $PORT" ||
        not_ok "$name server did not start" "$(cat "$TMP/$name.log")"
}

# ---- data: a simulated scenario, encoded and sealed per agency ----
"$R" simulate --config "$RP_SRC/data/scenarios/small-national.json" --out "$TMP/sim" --seed 5 \
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
[ ${#lists[@]} -ge 3 ] && ok "${#lists[@]} sealed submissions" || not_ok "too few lists"

# ---- accounts ----
run 0 "init" -- init --store "$DB" --quiet
i=0
for role in submitter partner coordinator analyst administrator; do
    printf 'password-of-%s\n' "$role" >"$TMP/pw-$role"
    agency=()
    [ "$role" = submitter ] && agency=(--agency POLICE)
    run 0 "user add $role" -- serve user add "u-$role" --role "$role" "${agency[@]}" \
        --password-file "$TMP/pw-$role" --store "$DB"
done
printf 'password-from-stdin\n' | "$R" serve user add ann --role analyst --store "$DB" 2>/dev/null &&
    ok "user add reads the password from stdin" || not_ok "user add from stdin"
printf 'password-of-throttle\n' >"$TMP/pw-throttle"
run 0 "user add for the rate-limit test" -- serve user add throttled --role partner \
    --password-file "$TMP/pw-throttle" --store "$DB" --quiet
run 2 "user add needs a role" -- serve user add x --store "$DB"
printf 'short\n' >"$TMP/pw-short"
run 2 "a short password is refused" -- serve user add y --role analyst \
    --password-file "$TMP/pw-short" --store "$DB"
run 2 "a password on the command line is not an option" -- serve user add z --role analyst \
    --password secret --store "$DB"
run 0 "user list --json" -- serve user list --json --store "$DB"
expect_python "user list has every account and no hash" '
import json, sys
u = json.load(open(sys.argv[1]))["users"]
names = {x["name"]: x for x in u}
assert len(u) == 7, u
assert names["u-submitter"]["agency"] == "POLICE"
assert "argon2" not in open(sys.argv[1]).read()
' "$TMP/out"
run 0 "routes --json" -- serve routes --json
cp "$TMP/out" "$STATE/routes.json"

# ---- the server ----
start_server main --hub-key "$TMP/hub.key" --max-upload 1 --threads 2 --log
check wait "$PORT" "$STATE"
for role in submitter partner coordinator analyst administrator; do
    check login "$PORT" "$STATE" "$role" "u-$role" "password-of-$role"
done

# Uploads: the submitter's agency is recorded, and a submitter sees only their agency.
cookie() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$STATE/$1.json" "$2"; }
upload() { # ROLE FILE -> HTTP status, body in $TMP/up.json
    curl -s -o "$TMP/up.json" -w '%{http_code}' -b "rp_session=$(cookie "$1" cookie)" \
        -H "X-CSRF-Token: $(cookie "$1" csrf)" -F "file=@$2" \
        "http://127.0.0.1:$PORT/api/v1/submissions"
}
st=$(upload submitter "$TMP/POLICE.sealed")
[ "$st" = 201 ] && ok "submitter uploads a sealed submission (201)" ||
    not_ok "submitter upload: $st" "$(cat "$TMP/up.json")"
for l in "${lists[@]}"; do
    [ "$l" = POLICE ] && continue
    st=$(upload analyst "$TMP/$l.sealed")
    [ "$st" = 201 ] && ok "analyst uploads $l (201)" || not_ok "upload $l: $st" "$(cat "$TMP/up.json")"
done
st=$(upload analyst "$TMP/NGO.sealed")
expect_python "a second upload of the same file is reported as a duplicate" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duplicate"] is True, r
' "$TMP/up.json"
head -c 2000 "$TMP/NGO.sub" >"$TMP/plain.bad"
st=$(upload analyst "$TMP/plain.bad")
[ "$st" = 422 ] && ok "a damaged submission is refused with 422" ||
    not_ok "damaged upload: $st" "$(cat "$TMP/up.json")"
printf '{"list": "SECRET-TOKEN-42", [[[\n' >"$TMP/json.bad"
st=$(upload analyst "$TMP/json.bad")
expect_python "a 422 answer does not echo tokens of the file" '
import json, sys
r = json.load(open(sys.argv[1]))
m = r["error"]["message"]
assert r["error"]["status"] == 422 and "SECRET-TOKEN" not in m and "near" not in m, m
' "$TMP/up.json"

api() { # ROLE PATH -> body on stdout
    curl -s -b "rp_session=$(cookie "$1" cookie)" "http://127.0.0.1:$PORT$2"
}
api submitter /api/v1/submissions >"$TMP/sub.json"
api analyst /api/v1/submissions >"$TMP/ana.json"
expect_python "submitters see their agency's submissions only" '
import json, sys
s = json.load(open(sys.argv[1]))["submissions"]
a = json.load(open(sys.argv[2]))["submissions"]
assert len(s) == 1 and s[0]["agency"] == "POLICE", s
assert len(a) == 3, a
' "$TMP/sub.json" "$TMP/ana.json"
other=$(python3 -c 'import json,sys; print([x["id"] for x in json.load(open(sys.argv[1]))["submissions"] if x["agency"] != "POLICE"][0])' "$TMP/ana.json")
code=$(curl -s -o /dev/null -w '%{http_code}' -b "rp_session=$(cookie submitter cookie)" \
    "http://127.0.0.1:$PORT/submissions/$other")
[ "$code" = 404 ] && ok "another agency's submission is not found for a submitter" ||
    not_ok "submitter reads another agency's submission: $code"
api analyst "/api/v1/submissions/$other" >"$TMP/one.json"
expect_python "validation report of a submission" '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["submission"]
assert s["read"] == s["stored"] + s["quarantined"] and s["read"] > 0, s
assert isinstance(r["quarantine"], list)
' "$TMP/one.json"

# Submitters are bound to their agency's list: another list is refused (403), and their
# reports and duplicate answers name no submission of others.
st=$(upload submitter "$TMP/NGO.sealed")
[ "$st" = 403 ] && grep -q "list" "$TMP/up.json" && ok "a submitter may not upload another list (403)" ||
    not_ok "submitter uploads another list: $st" "$(cat "$TMP/up.json")"
for part in a b; do
    { head -n 1 "$TMP/sim/POLICE.csv"; sed -n "$([ $part = a ] && echo 2,30p || echo 2,40p)" \
        "$TMP/sim/POLICE.csv"; } >"$TMP/polsub$part.csv"
    "$R" encode "$TMP/polsub$part.csv" --mapping "$TMP/sim/POLICE.mapping.json" \
        --secret "$TMP/secret.key" --out "$TMP/polsub$part.sub" --quiet &&
        "$R" seal "$TMP/polsub$part.sub" --to "$TMP/hub.pub" --out "$TMP/polsub$part.sealed" \
            >/dev/null || not_ok "encode a part of POLICE"
done
st=$(upload analyst "$TMP/polsuba.sealed")
[ "$st" = 201 ] && ok "analyst uploads a part of POLICE" || not_ok "analyst part: $st" "$(cat "$TMP/up.json")"
st=$(upload submitter "$TMP/polsuba.sealed")
expect_python "a duplicate file names no submission the submitter may not see" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duplicate"] is True and not r.get("submission_id") and not r.get("duplicate_of"), r
' "$TMP/up.json"
st=$(upload submitter "$TMP/polsubb.sealed")
sub_b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("submission_id", 0))' "$TMP/up.json")
curl -s -b "rp_session=$(cookie submitter cookie)" \
    "http://127.0.0.1:$PORT/api/v1/submissions/$sub_b" >"$TMP/subq.json"
curl -s -b "rp_session=$(cookie analyst cookie)" \
    "http://127.0.0.1:$PORT/api/v1/submissions/$sub_b" >"$TMP/anaq.json"
expect_python "the quarantine report of a submitter names no other submission" '
import json, sys
s = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
dup = [q for q in s["quarantine"] if q["rule"] == "duplicate"]
assert len(dup) >= 28, s
assert not any("submission" in q["message"] for q in dup), dup[:3]
assert any("submission" in q["message"] for q in a["quarantine"]), a["quarantine"][:3]
' "$TMP/subq.json" "$TMP/anaq.json"
# Linkage (the CLI, as the office runs it) and the overview's estimate.
"$R" link --store "$DB" --quiet && ok "link the uploaded submissions" || not_ok "link"
api coordinator /api/v1/overview >"$TMP/ov.json"
expect_python "overview has the estimate with its interval and the trend" '
import json, sys
o = json.load(open(sys.argv[1]))
t = o["total"]
assert t["lower"] < t["estimate"] < t["upper"] and t["observed"] > 0, t
assert t["estimate"] >= t["observed"]
assert len(o["trend"]) >= 2 and all("year" in y for y in o["trend"]), o["trend"]
' "$TMP/ov.json"
curl -s -b "rp_session=$(cookie coordinator cookie)" "http://127.0.0.1:$PORT/" >"$TMP/ov.html"
expect_grep "overview page shows the estimate" "$TMP/ov.html" 'id="estimate"'
expect_grep "overview page has the trend chart" "$TMP/ov.html" '<svg viewBox'

# Clerical review of a pair in the review band, audited with the user.
api analyst /api/v1/linkage/runs >"$TMP/runs.json"
run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["id"])' "$TMP/runs.json")
api analyst "/api/v1/linkage/runs/$run_id" >"$TMP/run.json"
read -r pa pb < <(python3 -c '
import json, sys
r = [p for p in json.load(open(sys.argv[1]))["review"] if p["decision"] == "review"]
print(r[0]["a"], r[0]["b"])' "$TMP/run.json")
code=$(curl -s -o "$TMP/rev.json" -w '%{http_code}' -b "rp_session=$(cookie analyst cookie)" \
    -H "X-CSRF-Token: $(cookie analyst csrf)" -H 'Content-Type: application/json' \
    -d "{\"a\": $pa, \"b\": $pb, \"decision\": \"reject\"}" \
    "http://127.0.0.1:$PORT/api/v1/linkage/runs/$run_id/review")
[ "$code" = 200 ] && ok "review decision recorded" || not_ok "review: $code" "$(cat "$TMP/rev.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "rp_session=$(cookie analyst cookie)" \
    -H "X-CSRF-Token: $(cookie analyst csrf)" -H 'Content-Type: application/json' \
    -d '{"a": 1, "b": 1, "decision": "accept"}' \
    "http://127.0.0.1:$PORT/api/v1/linkage/runs/$run_id/review")
[ "$code" = 404 ] && ok "a pair outside the review band is 404" || not_ok "bad pair: $code"
api administrator /api/v1/audit >"$TMP/audit.json"
expect_python "audit trail names the user of each change" '
import json, sys
a = json.load(open(sys.argv[1]))["audit"]
acts = {(e["action"], e["user"]) for e in a}
assert ("link.review", "u-analyst") in acts, acts
assert ("submission.upload", "u-submitter") in acts, acts
assert ("login", "u-coordinator") in acts, acts
assert not any("password" in json.dumps(e) for e in a)
' "$TMP/audit.json"

# Recommendations: status change under the transition rule, evidence, scorecards.
"$R" recs import "$RP_SRC/data/recs/example.json" --store "$DB" --author test --quiet &&
    ok "import the example recommendations" || not_ok "recs import"
post_json() { # ROLE PATH JSON -> status; body in $TMP/post.json
    curl -s -o "$TMP/post.json" -w '%{http_code}' -b "rp_session=$(cookie "$1" cookie)" \
        -H "X-CSRF-Token: $(cookie "$1" csrf)" -H 'Content-Type: application/json' -d "$3" \
        "http://127.0.0.1:$PORT$2"
}
dv() { api coordinator /api/v1/overview | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_version"])'; }
dv_before=$(dv)
st=$(post_json coordinator /api/v1/recs/2/status '{"status": "implemented"}')
[ "$st" = 200 ] && ok "co-ordinator changes a status" || not_ok "status: $st" "$(cat "$TMP/post.json")"
expect_python "the new status is in the recommendation's history" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "implemented" and r["history"][-1]["author"] == "u-coordinator", r["history"]
' "$TMP/post.json"
[ "$(dv)" = "$dv_before" ] && ok "a recommendation change keeps the overview cache" ||
    not_ok "the overview cache was dropped by a recommendation change"
st=$(post_json coordinator /api/v1/recs/2/status '{"status": "not_started"}')
[ "$st" = 422 ] && ok "a reopening without a note is refused (422)" || not_ok "reopen: $st"
st=$(post_json partner /api/v1/recs/3/status '{"status": "implemented"}')
[ "$st" = 403 ] && ok "a partner may not change a status" || not_ok "partner status: $st"
st=$(post_json partner /api/v1/recs/3/evidence '{"note": "supply-chain audit done", "link": "https://example.org/a"}')
[ "$st" = 201 ] && ok "a partner adds evidence" || not_ok "evidence: $st" "$(cat "$TMP/post.json")"
api partner "/api/v1/recs?status=implemented" >"$TMP/recs.json"
expect_python "recommendations filter by status" '
import json, sys
r = json.load(open(sys.argv[1]))["recommendations"]
assert r and all(x["status"] == "implemented" for x in r), r
' "$TMP/recs.json"
api coordinator /api/v1/scorecards >"$TMP/score.json"
expect_python "scorecards" '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["overall"]["total"] >= 40 and "by_theme" in s, s.keys()
' "$TMP/score.json"
curl -s "http://127.0.0.1:$PORT/api/v1/public" >"$TMP/public.json"
expect_python "public tables: no published count below the threshold" '
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["tables"]) >= 3
for t in m["tables"]:
    k = t["threshold"]
    for c in t["cells"]:
        v = c["value"]
        assert v is None or v == 0 or v >= k, (t["title"], c)
        assert v is not None or c["status"] == "suppressed", c
' "$TMP/public.json"
curl -s "http://127.0.0.1:$PORT/public" >"$TMP/public.html"
expect_grep "public page shows its tables" "$TMP/public.html" '<caption>Identified persons by year'

# Security checks.
check matrix "$PORT" "$STATE"
check csrf "$PORT" "$STATE"
check traversal "$PORT" "$STATE"
check sizes "$PORT" "$STATE" 1048576 1048576
check malformed "$PORT" "$STATE"
check early "$PORT" "$STATE"
check framing "$PORT" "$STATE"
check host "$PORT" "$STATE"
curl -s -o /dev/null "http://127.0.0.1:$PORT/public%0aFAKE-LOG-LINE%20200"
curl -s -o /dev/null "http://127.0.0.1:$PORT/public%0d%0aFAKE-LOG-LINE%20200"
if grep -q '^FAKE-LOG-LINE' "$TMP/main.log"; then not_ok "a request forged a log line"; else
    ok "no forged line in the access log"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -b "rp_session=$(cookie analyst cookie)" \
    -H "X-CSRF-Token: $(cookie analyst csrf)" "http://127.0.0.1:$PORT/api/v1/logout")
[ "$code" = 200 ] && ok "log out" || not_ok "log out: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "rp_session=$(cookie analyst cookie)" \
    "http://127.0.0.1:$PORT/api/v1/session")
[ "$code" = 401 ] && ok "the session is gone after logging out" || not_ok "after logout: $code"
check ratelimit "$PORT" "$STATE" throttled password-of-throttle 5
if grep -q 'password-of' "$TMP/main.log"; then not_ok "a password reached the log"; else
    ok "no password in the access log"
fi

# Behind a TLS-terminating proxy: --public-url and --trust-proxy.
run 2 "--public-url must be http(s)://host[:port]" -- serve --store "$DB" --public-url ftp://x
run 2 "--public-url takes no path" -- serve --store "$DB" --public-url https://x.example/app
start_server proxy --public-url https://rapporteur.example --trust-proxy
check proxy "$PORT" "$STATE" rapporteur.example u-partner password-of-partner \
    password-of-administrator
check audit "$PORT" "$STATE" __Host-rp_session rapporteur.example 10.0.0.1
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 200 ] && ok "the bound address is still allowed behind a proxy" || not_ok "bound host: $code"

# HTTPS with a self-signed certificate: Secure cookies and HSTS.
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/tls.key" -out "$TMP/tls.crt" \
        -days 2 -subj /CN=localhost >/dev/null 2>&1
    start_server tls --cert "$TMP/tls.crt" --key "$TMP/tls.key"
    curl -sk -D "$TMP/tls.h" -o /dev/null -H 'Content-Type: application/json' \
        -d '{"user": "u-analyst", "password": "password-of-analyst"}' \
        "https://127.0.0.1:$PORT/api/v1/login"
    expect_grep "HTTPS log-in sets a Secure __Host- cookie" "$TMP/tls.h" \
        '^[Ss]et-[Cc]ookie: __Host-rp_session=.*; Secure'
    expect_grep "HTTPS answers carry HSTS" "$TMP/tls.h" '^[Ss]trict-[Tt]ransport-[Ss]ecurity'
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
    [ "$code" != 200 ] && ok "plain HTTP is not served on the HTTPS port" || not_ok "plain HTTP on TLS"
else
    ok "# SKIP openssl not installed: no HTTPS check"
fi
run 4 "a missing certificate file is an I/O error" -- serve --store "$DB" --port 0 \
    --cert "$TMP/none.crt" --key "$TMP/none.key"
run 2 "--cert without --key" -- serve --store "$DB" --cert "$TMP/tls.crt"
run 4 "serving a missing store" -- serve --store "$TMP/none.db" --port 0

for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null && ok "server $p still running at the end" || not_ok "server $p died"
done
# Stopped by SIGTERM, each server exits 0 and (in sanitizer builds) reports nothing.
for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" && ok "server $p stops cleanly on SIGTERM" || not_ok "server $p exit status $?"
done
pids=()
if grep -El 'Sanitizer|runtime error' "$TMP"/*.log >/dev/null 2>&1; then
    not_ok "sanitizer report in a server log" "$(grep -h -A5 -E 'Sanitizer|runtime error' "$TMP"/*.log | head -20)"
else
    ok "no sanitizer report in the server logs"
fi
finish
