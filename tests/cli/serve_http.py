#!/usr/bin/env python3
"""HTTP checks of `rapporteur serve` for tests/cli/serve.sh (standard library only).

Usage: serve_http.py CHECK PORT STATE_DIR [args]. Each check prints lines
"OK <what>" or "FAIL <what>: <detail>"; serve.sh turns them into its test results.
STATE_DIR holds one JSON session file per role (<role>.json: cookie and csrf), made by
the "login" check, and routes.json from `rapporteur serve routes --json`.
"""
import http.client
import json
import os
import socket
import sys
import time

ROLES = ["public", "submitter", "partner", "coordinator", "analyst", "administrator"]


def say(ok, what, detail=""):
    print(("OK " if ok else "FAIL ") + what + ("" if ok else ": " + detail), flush=True)


def request(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    out = (r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
    c.close()
    return out


def session_headers(state, role):
    if role == "public":
        return {}
    s = json.load(open(os.path.join(state, role + ".json")))
    return {"Cookie": "rp_session=" + s["cookie"], "X-CSRF-Token": s["csrf"]}


def check_login(port, state, role, user, password):
    st, hdr, body = request(port, "POST", "/api/v1/login", {"user": user, "password": password})
    cookie = hdr.get("set-cookie", "")
    ok = st == 200 and cookie.startswith("rp_session=")
    say(ok, "login as " + role, "status %d %s" % (st, body[:200]))
    if not ok:
        return
    attrs = [a.strip() for a in cookie.split(";")]
    say("HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs,
        role + " session cookie is HttpOnly, SameSite=Strict", cookie)
    s = json.loads(body)
    say(s["role"] == role and len(s["csrf"]) == 43, role + " session JSON", str(s))
    json.dump({"cookie": attrs[0].split("=", 1)[1], "csrf": s["csrf"]},
              open(os.path.join(state, role + ".json"), "w"))


def concrete(pattern):
    return pattern.replace("{id}", "1")


def refused(status, hdr, body):
    if status == 303:
        return hdr.get("location", "").startswith("/login?next=")
    text = body.decode("utf-8", "replace")
    return status in (401, 403) and ("log in first" in text or "your role may not" in text)


def check_matrix(port, state):
    """Every route of the server's own table, for every role."""
    routes = json.load(open(os.path.join(state, "routes.json")))["routes"]
    n = 0
    bad = []
    for r in routes:
        for role in ROLES:
            if "logout" in r["pattern"] and role != "public":
                continue  # would end the session; logging out is checked on its own
            allowed = "public" in r["roles"] or role in r["roles"]
            body = {} if r["method"] == "POST" else None
            st, hdr, data = request(port, r["method"], concrete(r["pattern"]), body,
                                    session_headers(state, role))
            n += 1
            if refused(st, hdr, data) == allowed or st >= 500:
                bad.append("%s %s as %s: %d" % (r["method"], r["pattern"], role, st))
    say(not bad, "role matrix over %d routes x %d roles (%d requests)" % (len(routes), len(ROLES), n),
        "; ".join(bad[:10]))
    # Anonymous browsers are sent to the log-in page; anonymous API calls get 401 JSON.
    st, hdr, _ = request(port, "GET", "/")
    say(st == 303 and hdr.get("location") == "/login?next=/", "anonymous / goes to log-in",
        "%d %s" % (st, hdr.get("location")))
    st, hdr, data = request(port, "GET", "/api/v1/overview")
    say(st == 401 and json.loads(data)["error"]["status"] == 401, "anonymous API call is 401 JSON",
        "%d" % st)


def check_csrf(port, state):
    h = session_headers(state, "analyst")
    no_token = {"Cookie": h["Cookie"]}
    st, _, data = request(port, "POST", "/api/v1/linkage/runs/1/review",
                          {"a": 1, "b": 2, "decision": "accept"}, no_token)
    say(st == 403 and b"CSRF" in data, "API change without CSRF token refused", "%d" % st)
    other = dict(no_token, **{"X-CSRF-Token": session_headers(state, "administrator")["X-CSRF-Token"]})
    st, _, _ = request(port, "POST", "/api/v1/linkage/runs/1/review",
                       {"a": 1, "b": 2, "decision": "accept"}, other)
    say(st == 403, "another session's CSRF token refused", "%d" % st)
    form = dict(no_token, **{"Content-Type": "application/x-www-form-urlencoded"})
    st, _, _ = request(port, "POST", "/logout", b"csrf=wrong", form)
    say(st == 403, "form post with a wrong csrf field refused", "%d" % st)
    st, _, _ = request(port, "POST", "/login", b"csrf=x&user=ann&password=y",
                       {"Content-Type": "application/x-www-form-urlencoded"})
    say(st == 403, "log-in form without its pre-login cookie refused", "%d" % st)
    evil = dict(h, Origin="http://evil.example")
    st, _, _ = request(port, "POST", "/api/v1/linkage/runs/1/review",
                       {"a": 1, "b": 2, "decision": "accept"}, evil)
    say(st == 403, "cross-origin change refused", "%d" % st)


def raw(port, data, read=True, timeout=5):
    """Send raw bytes; return what came back (b'' if the server closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        if not read:
            return b""
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def alive(port):
    try:
        return request(port, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def check_traversal(port, state):
    paths = ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/public/..%2f..%2fetc%2fpasswd",
             "/static/../../../../etc/passwd", "/..%5c..%5cetc%5cpasswd", "//etc/passwd",
             "/public/%00/../x", "/submissions/1/../../admin/users"]
    for p in paths:
        resp = raw(port, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                          % (p, port)).encode())
        st = status_of(resp)
        say(st in (400, 404) and b"root:" not in resp, "traversal %s refused" % p,
            "status %d" % st)


def post_big(port, path, ctype, size, headers):
    """POST @size bytes; the server may answer (413) and close before reading them."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        path, port, ctype, size)
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    out = b""
    try:
        s.sendall((head + "\r\n").encode())
        sent = 0
        block = b"x" * 65536
        while sent < size:
            n = min(len(block), size - sent)
            s.sendall(block[:n])
            sent += n
    except OSError:
        pass
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                break
    except OSError:
        pass
    s.close()
    return status_of(out)


def check_sizes(port, state, max_body, max_upload):
    h = session_headers(state, "analyst")
    st = post_big(port, "/api/v1/login", "application/json", max_body + 1, {})
    say(st == 413, "body over the limit is 413", "%d" % st)
    # An upload may be larger than a form, but not larger than --max-upload.
    st = post_big(port, "/api/v1/submissions?name=big.sealed", "application/octet-stream",
                  max_upload + 1, h)
    say(st == 413, "upload over --max-upload is 413", "%d" % st)
    # Declared length over the limit: refused before the body is read.
    resp = raw(port, b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n" % port)
    say(status_of(resp) == 413, "declared oversized length is 413", repr(resp[:60]))
    say(b"application/json" in resp.split(b"\r\n\r\n")[0] and b'"error"' in resp,
        "413 under /api/v1/ is a JSON error", repr(resp[:300]))
    # Chunked without a length: the connection is cut at the limit, the server lives on.
    chunk = b"%x\r\n%s\r\n" % (max_body, b"y" * max_body)
    resp = raw(port, b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % port
               + chunk + chunk + b"0\r\n\r\n")
    say(status_of(resp) in (0, 400, 413) and alive(port), "oversized chunked body cut off",
        repr(resp[:60]))
    many = "&".join("f%d=1" % i for i in range(200)).encode()
    st, _, _ = request(port, "POST", "/api/v1/linkage/runs/1/review", many,
                       dict(h, **{"Content-Type": "application/x-www-form-urlencoded"}))
    say(st == 400, "form with too many fields is 400", "%d" % st)


MALFORMED = [
    b"\x00\x01\x02\x03\xff\xfe",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /public HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 200000 + b"\r\n\r\n",
    b"GET /public HTTP/1.1\r\nHost: x\r\nCookie: " + b";=" * 5000 + b"\r\n\r\n",
    b"GET /public?" + b"a=%zz&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\r\n"
    b"Content-Length: 10\r\n\r\n--\r\n\r\n\r\n--",
    b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 12\r\n\r\n{\"user\":[[[[",
    b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 5\r\n\r\n\xff\xfe\x00\x00\x01",
    b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /public HTTP/1.1\r\nHost: x\r\nCookie: rp_session=\xff\xfe\r\n\r\n",
    b"GET /\xc3\x28 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /public HTTP/1.1\r\n" + b"H: v\r\n" * 5000 + b"\r\n",
    b"PUT /public HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /public HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
]


def check_malformed(port, state):
    for i, data in enumerate(MALFORMED):
        data = data.replace(b"Host: x\r\n", b"Host: 127.0.0.1:%d\r\n" % port)
        try:
            raw(port, data, timeout=3)
        except OSError:
            pass
        say(alive(port), "malformed request %d leaves the server up" % i, "no answer after it")
    # Half a request, then close; and many connections opened and dropped.
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /pub")
        s.close()
    say(alive(port), "dropped half-requests leave the server up")
    import random
    rnd = random.Random(9)
    for i in range(30):
        blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 3000)))
        try:
            raw(port, blob, timeout=2)
        except OSError:
            pass
    say(alive(port), "30 random byte strings leave the server up")


def check_ratelimit(port, state, user, password, max_user):
    last = 0
    for i in range(max_user):
        last, _, _ = request(port, "POST", "/api/v1/login", {"user": user, "password": "wrong pw!!"})
    say(last == 401, "wrong passwords are 401 up to the limit", "%d" % last)
    st, hdr, _ = request(port, "POST", "/api/v1/login", {"user": user, "password": "wrong pw!!"})
    say(st == 429 and int(hdr.get("retry-after", "0")) > 0, "then 429 with Retry-After",
        "%d %s" % (st, hdr.get("retry-after")))
    st, _, _ = request(port, "POST", "/api/v1/login", {"user": user, "password": password})
    say(st == 429, "even the right password waits while throttled", "%d" % st)


def head_only(port, head, timeout=3):
    """Send request headers that announce a body, never the body; return (status, answer).
    A server that reads the body first never answers (status 0)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(head)
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        # the rest of the answer, if any, until close or timeout
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
    except OSError:
        pass
    finally:
        s.close()
    return status_of(out), out


def check_early(port, state):
    """Session, role and CSRF header are checked before any body is read (item 1)."""
    big = 50 << 20

    def post_head(path, extra="", ctype="application/octet-stream", length=big):
        return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\n%s\r\n" % (path, port, ctype, length, extra)).encode()
    st, resp = head_only(port, post_head("/api/v1/submissions?name=a.sealed"))
    say(st == 401 and b'"error"' in resp, "anonymous 50 MiB upload refused (401) before its body",
        "%d %r" % (st, resp[:80]))
    st, _ = head_only(port, post_head("/submissions", ctype="multipart/form-data; boundary=x"))
    say(st in (303, 401), "anonymous form upload refused before its body", "%d" % st)
    st, resp = head_only(port, post_head("/api/v1/login", ctype="application/json",
                                         length=512 << 10))
    say(st == 413 and b'"error"' in resp, "anonymous 512 KiB log-in body is 413 at once",
        "%d %r" % (st, resp[:80]))
    p = session_headers(state, "partner")
    st, _ = head_only(port, post_head("/api/v1/submissions", "Cookie: %s\r\n" % p["Cookie"]))
    say(st == 403, "a partner's upload is refused (403) before its body", "%d" % st)
    a = session_headers(state, "analyst")
    st, _ = head_only(port, post_head("/api/v1/submissions",
                                      "Cookie: %s\r\nX-CSRF-Token: %s\r\n" % (a["Cookie"], "x" * 43)))
    say(st == 403, "a wrong CSRF header refuses an upload before its body", "%d" % st)
    st, _ = head_only(port, post_head("/api/v1/linkage/runs/1/review",
                                      "Cookie: %s\r\n" % a["Cookie"], "application/json",
                                      5 << 20))
    say(st == 413, "a logged-in JSON body is still held to --max-body", "%d" % st)
    st, _ = head_only(port, ("GET /public HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 100"
                             "\r\n\r\n" % port).encode())
    say(st == 413, "a GET with a body is refused", "%d" % st)
    say(alive(port), "the server is up after early refusals")


def check_framing(port, state):
    """Conflicting framing headers are refused (item 12); NUL and bad escapes too (item 7)."""
    h = "Host: 127.0.0.1:%d\r\n" % port
    cases = [
        ("two different Content-Length",
         "POST /api/v1/recs/1/evidence HTTP/1.1\r\n%sContent-Type: application/json\r\n"
         "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}" % h),
        ("Content-Length with Transfer-Encoding",
         "POST /api/v1/recs/1/evidence HTTP/1.1\r\n%sContent-Type: application/json\r\n"
         "Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" % h),
    ]
    for what, data in cases:
        resp = raw(port, data.encode())
        st = status_of(resp)
        say(st == 400, what + " is 400", "%d %r" % (st, resp[:80]))
    for path in ["/public%00", "/public%00.html", "/api/v1/public?x=1%00", "/public?x=%",
                 "/public?a=%zz", "/public%", "/api/v1/recs?status=implemented%00x",
                 "/api/v1/public?%00=1"]:
        resp = raw(port, ("GET %s HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (path, h)).encode())
        st = status_of(resp)
        api = path.startswith("/api/")
        say(st == 400 and (not api or b'"error"' in resp), "%s is 400" % path, "%d %r" % (st, resp[:120]))


def check_host(port, state):
    """Host allow-list (DNS rebinding): the bound address and port, or the public URL."""
    for host, want in [("127.0.0.1:%d" % port, 200), ("localhost:%d" % port, 200),
                       ("evil.example", 421), ("evil.example:%d" % port, 421),
                       ("127.0.0.1:1", 421)]:
        st, _, _ = request(port, "GET", "/healthz", headers={"Host": host})
        say(st == want, "Host %s is %d" % (host, want), "%d" % st)


def check_proxy(port, state, public_host, user, password, known_pw):
    """Behind a TLS proxy: --public-url https://HOST and --trust-proxy (items 2, 3, 5, 8)."""
    origin = "https://" + public_host
    base = {"Host": public_host, "X-Forwarded-For": "10.0.0.9"}
    st, hdr, body = request(port, "POST", "/api/v1/login", {"user": user, "password": password},
                            dict(base, Origin=origin))
    cookie = hdr.get("set-cookie", "")
    say(st == 200 and cookie.startswith("__Host-rp_session=") and "Secure" in cookie,
        "behind an https public URL the session cookie is __Host- and Secure",
        "%d %s" % (st, cookie))
    say(hdr.get("strict-transport-security", "").startswith("max-age="),
        "HSTS behind an https public URL", str(hdr))
    if st != 200:
        return
    tok = cookie.split(";")[0].split("=", 1)[1]
    csrf = json.loads(body)["csrf"]
    sess = dict(base, Cookie="__Host-rp_session=" + tok, **{"X-CSRF-Token": csrf})
    st, _, data = request(port, "POST", "/api/v1/recs/1/evidence", {"note": "via proxy"},
                          dict(sess, Origin=origin))
    say(st != 403, "a change with the public origin passes the origin check", "%d %r" % (st, data[:120]))
    st, _, _ = request(port, "POST", "/api/v1/recs/1/evidence", {"note": "x"},
                       dict(sess, Origin="http://" + public_host))
    say(st == 403, "the public host over http is another origin", "%d" % st)
    st, _, _ = request(port, "POST", "/api/v1/recs/1/evidence", {"note": "x"},
                       dict(sess, Origin="http://127.0.0.1:%d" % port))
    say(st == 403, "the bound address is not the public origin", "%d" % st)
    st, _, data = request(port, "POST", "/login", b"csrf=x&user=a&password=b",
                          dict(base, Origin=origin,
                               **{"Content-Type": "application/x-www-form-urlencoded"}))
    say(st == 403 and b"cross-origin" not in data, "the log-in form accepts the public origin",
        "%d %r" % (st, data[:200]))
    # Rate limits by the forwarded address: unknown names from one address ...
    flood = dict(base, **{"X-Forwarded-For": "198.51.100.7, 10.0.0.1"})
    codes = []
    for i in range(25):
        codes.append(request(port, "POST", "/api/v1/login",
                             {"user": "nobody%d" % i, "password": "Secret-Typed-Here"}, flood)[0])
    say(codes[0] == 401 and codes[-1] == 429, "failures from one forwarded address are throttled",
        str(codes))
    st, _, _ = request(port, "POST", "/api/v1/login", {"user": "nobody", "password": "wrongwrong"},
                       dict(base, **{"X-Forwarded-For": "10.0.0.2"}))
    say(st == 401, "another forwarded address is not throttled", "%d" % st)
    st, _, _ = request(port, "POST", "/api/v1/login", {"user": user, "password": password}, flood)
    say(st == 200, "a correct log-in of an account passes the throttled address", "%d" % st)
    st, _, _ = request(port, "POST", "/api/v1/login",
                       {"user": "Secret-Password-1", "password": "wrongwrong"},
                       dict(base, **{"X-Forwarded-For": "10.0.0.3"}))
    st, hdr, data = request(port, "POST", "/api/v1/login", {"user": "u-administrator",
                                                            "password": known_pw}, base)
    say(st == 200, "administrator logs in behind the proxy", "%d" % st)
    if st == 200:
        tok = hdr.get("set-cookie", "").split(";")[0].split("=", 1)[1]
        json.dump({"cookie": tok, "csrf": json.loads(data)["csrf"]},
                  open(os.path.join(state, "proxyadmin.json"), "w"))


def check_audit(port, state, cookie_name, host, xff_addr):
    h = {"Cookie": cookie_name + "=" + json.load(open(os.path.join(state, "proxyadmin.json")))["cookie"],
         "Host": host}
    st, _, data = request(port, "GET", "/api/v1/audit?limit=500", headers=h)
    if st != 200:
        say(False, "audit trail readable", "%d" % st)
        return
    a = json.loads(data)["audit"]
    thr = [e for e in a if e["action"] == "login.throttled" and xff_addr in e["object"]]
    say(len(thr) == 1, "one login.throttled entry per address and window", "%d" % len(thr))
    failed = [e for e in a if e["action"] == "login.failed"]
    text = json.dumps(a)
    say(failed and "nobody" not in text and "Secret-Password-1" not in text
        and all(e["user"] == "" for e in failed if e["detail"].get("account") == "unknown"),
        "failed log-ins with names that are not accounts keep no name", text[:300])
    say(any(xff_addr in e["object"] for e in failed), "the audit names the forwarded address",
        text[:200])
    st, _, data = request(port, "GET", "/api/v1/audit?action=login.failed&limit=3", headers=h)
    r = json.loads(data) if st == 200 else {}
    ok = st == 200 and 0 < len(r["audit"]) <= 3 and all(e["action"] == "login.failed" for e in r["audit"])
    say(ok, "audit filtered by action and limited", "%d %r" % (st, data[:200]))
    if ok and r.get("next_before"):
        st, _, data = request(port, "GET", "/api/v1/audit?action=login.failed&limit=3&before=%d"
                              % r["next_before"], headers=h)
        older = json.loads(data)["audit"] if st == 200 else []
        say(st == 200 and all(e["id"] < r["next_before"] for e in older),
            "audit pages with before=", "%d" % st)
    else:
        say(False, "audit has next_before for paging", "%r" % r.keys() if r else "")
    st, _, data = request(port, "GET", "/api/v1/audit?kind=changes", headers=h)
    ch = json.loads(data)["audit"] if st == 200 else None
    say(ch is not None and not any(e["action"].startswith("login") for e in ch),
        "audit of changes only leaves log-ins out", "%d" % st)
    st, _, data = request(port, "GET", "/admin/audit?action=login.failed&limit=2", headers=h)
    say(st == 200 and b"login.failed" in data and b"login.throttled" not in data,
        "the audit page filters too", "%d" % st)


def main():
    check, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = sys.argv[4:]
    if check == "login":
        check_login(port, state, *args)
    elif check == "matrix":
        check_matrix(port, state)
    elif check == "csrf":
        check_csrf(port, state)
    elif check == "traversal":
        check_traversal(port, state)
    elif check == "sizes":
        check_sizes(port, state, int(args[0]), int(args[1]))
    elif check == "malformed":
        check_malformed(port, state)
    elif check == "ratelimit":
        check_ratelimit(port, state, args[0], args[1], int(args[2]))
    elif check == "early":
        check_early(port, state)
    elif check == "framing":
        check_framing(port, state)
    elif check == "host":
        check_host(port, state)
    elif check == "proxy":
        check_proxy(port, state, *args)
    elif check == "audit":
        check_audit(port, state, *args)
    elif check == "wait":
        for _ in range(200):
            if alive(port):
                return
            time.sleep(0.05)
        say(False, "server answers", "no answer")
    else:
        raise SystemExit("unknown check " + check)


if __name__ == "__main__":
    main()
