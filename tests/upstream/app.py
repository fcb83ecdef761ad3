"""A plain Python application behind a proxy and `mfa-guard serve`, for the tests.

It is the upstream of the end-to-end suites, in a language that is not Rust: it
verifies the signed identity assertion (`X-Mfa-Guard-Assertion`) of every request
with PyJWT against serve's JWKS, its own name as the audience and serve's name as
the issuer, and answers what it saw.

    python3 app.py --jwks-url http://127.0.0.1:9000/.well-known/jwks.json \
        --audience partner-center [--issuer mfa-guard-serve] [--listen 127.0.0.1:0]

It prints `listening on http://HOST:PORT` once it listens. Every request (any
method, any path) is answered with JSON:

    {"method": ..., "path": ..., "headers": {lowercase name: value, but
                                           Authorization and Cookie redacted},
     "identity": {the x-mfa-guard-* headers but the assertion},
     "assertion": {"verdict": "valid" | "missing" | "refused", "reason": ...,
                   "claims": {...}, "matches_headers": true | false,
                   "mismatches": [...]}}

A request carrying an assertion that does not verify (forged, expired, for
another audience or issuer) is refused: 401, with the verdict's reason. So is one
carrying identity headers without an assertion: nothing vouches for them. A
request with neither (a public route) is answered 200, verdict "missing". A
top-level navigation (`Sec-Fetch-Mode: navigate`, or HTML first in `Accept`) gets
the same facts as an HTML page.
"""

import argparse
import html
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

ASSERTION = "x-mfa-guard-assertion"
IDENTITY_PREFIX = "x-mfa-guard-"
SECRET_HEADERS = ("authorization", "cookie")


def claims_against_headers(claims, identity):
    """Where the assertion's claims and the identity headers disagree."""
    expected = {
        "x-mfa-guard-oid": claims.get("oid"),
        "x-mfa-guard-tid": claims.get("tid"),
        "x-mfa-guard-kind": claims.get("kind"),
        "x-mfa-guard-roles": ",".join(claims.get("roles", [])) or None,
        "x-mfa-guard-mfa": "true" if "mfa" in claims.get("amr", []) else "false",
    }
    return [
        f"{name}: header {identity.get(name)!r}, assertion {value!r}"
        for name, value in expected.items()
        if identity.get(name) != value
    ]


class Upstream(BaseHTTPRequestHandler):
    jwks = None
    audience = None
    issuer = None

    def verdict(self, headers):
        identity = {n: v for n, v in headers.items() if n.startswith(IDENTITY_PREFIX) and n != ASSERTION}
        identity.pop("x-mfa-guard-audience", None)
        token = headers.get(ASSERTION)
        if token is None:
            if identity:
                return 401, {"verdict": "refused", "reason": "identity headers without an assertion"}
            return 200, {"verdict": "missing"}
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["ES256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as e:
            return 401, {"verdict": "refused", "reason": f"{type(e).__name__}: {e}"}
        mismatches = claims_against_headers(claims, identity)
        return 200, {
            "verdict": "valid",
            "claims": claims,
            "matches_headers": not mismatches,
            "mismatches": mismatches,
        }

    def answer(self):
        headers = {n.lower(): v for n, v in self.headers.items()}
        status, assertion = self.verdict(headers)
        identity = {n: v for n, v in headers.items() if n.startswith(IDENTITY_PREFIX) and n != ASSERTION}
        # Credentials are named, never echoed: answers end up in test logs.
        shown = {n: ("<redacted>" if n in SECRET_HEADERS else v) for n, v in headers.items()}
        facts = {
            "method": self.command,
            "path": self.path,
            "headers": shown,
            "identity": identity,
            "assertion": assertion,
        }
        navigation = headers.get("sec-fetch-mode") == "navigate" or headers.get("accept", "").startswith("text/html")
        if navigation:
            who = assertion.get("claims", {})
            body = (
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>upstream</title></head><body>"
                f"<h1>{html.escape(self.path)}</h1>"
                f"<p id=\"verdict\">{html.escape(assertion['verdict'])}</p>"
                f"<p id=\"oid\">{html.escape(str(who.get('oid', '')))}</p>"
                f"<pre id=\"facts\">{html.escape(json.dumps(facts, indent=2, sort_keys=True))}</pre>"
                "</body></html>"
            ).encode()
            content_type = "text/html; charset=utf-8"
        else:
            body = json.dumps(facts, sort_keys=True).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--jwks-url", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--issuer", default="mfa-guard-serve")
    args = parser.parse_args()
    Upstream.jwks = jwt.PyJWKClient(args.jwks_url, cache_keys=True)
    Upstream.audience = args.audience
    Upstream.issuer = args.issuer
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Upstream)
    server.daemon_threads = True
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
