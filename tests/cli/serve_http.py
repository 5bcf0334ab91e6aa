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
        s.sendall(data)
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
        resp = raw(port, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % p)
                   .encode())
        st = status_of(resp)
        say(st in (400, 404) and b"root:" not in resp, "traversal %s refused" % p,
            "status %d" % st)


def post_big(port, path, ctype, size, headers):
    """POST @size bytes; the server may answer (413) and close before reading them."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        path, ctype, size)
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
    resp = raw(port, b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 99999999999\r\n\r\n")
    say(status_of(resp) == 413, "declared oversized length is 413", repr(resp[:60]))
    # Chunked without a length: the connection is cut at the limit, the server lives on.
    chunk = b"%x\r\n%s\r\n" % (max_body, b"y" * max_body)
    resp = raw(port, b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + chunk + chunk + b"0\r\n\r\n")
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
