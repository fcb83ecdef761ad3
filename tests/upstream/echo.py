"""A plain Python application behind the gate (no mfa-guard code in it): every GET
answers a small HTML page showing the path and the identity headers the proxy
passed on, as JSON in <pre id="identity">, so a browser test reads who the gate
admitted. Standard library only.

    python3 echo.py PORT        # 0 picks a free port

Prints one line, {"listening": "127.0.0.1:PORT"}, when ready; stops on SIGTERM or
when its stdin closes (a test that dies leaves no application behind).
"""

import html
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTITY = ("x-mfa-guard-oid", "x-mfa-guard-tid", "x-mfa-guard-kind", "x-mfa-guard-roles", "x-mfa-guard-mfa")


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        seen = {"path": self.path.split("?", 1)[0]}
        for name in IDENTITY:
            value = self.headers.get(name)
            if value is not None:
                seen[name.removeprefix("x-mfa-guard-")] = value
        body = (
            "<!doctype html><html><head><title>Application</title></head><body>"
            f"<h1>Application</h1><pre id=\"identity\">{html.escape(json.dumps(seen))}</pre>"
            "</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(json.dumps({"listening": f"{host}:{port}"}), flush=True)

    def stop_when_stdin_closes():
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
