#!/usr/bin/env bash
# Instructions per request of a whole server (callgrind), host-independent: the load
# benchmark's floor answering a person's navigation with the examples' page
# (noauth-page), and the axum example answering a signed-in navigation with the same
# page (axum-session: development mode, its in-process session store). Counters are
# zeroed after start-up and warm-up (callgrind_control -z), so only the requests
# count; `wrk -c4` drives each server for SECONDS (under callgrind a server runs
# ~50x slower, so a few thousand requests).
#
#   benches/server-instructions.sh [SECONDS]     (default 20)
#
# Printed: instructions per request of each, their ratio (the floor's over the
# session's, read like load.sh's req/s ratios), and for the session the inclusive
# instructions per request of mfa-guard's own functions.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
for tool in valgrind callgrind_control callgrind_annotate wrk; do
    command -v $tool >/dev/null || { echo "server-instructions.sh: needs $tool (Debian: valgrind, wrk)" >&2; exit 2; }
done
echo "building release binaries ..." >&2
cargo build -q --release --locked -p example-axum-server -p mfa-guard-cli
cargo build -q --release --manifest-path benches/peers/Cargo.toml -p bench-noauth
bin=${CARGO_TARGET_DIR:-target}/release
peers=${CARGO_TARGET_DIR:-benches/peers/target}/release
script=server-instructions.sh
# shellcheck source=benches/lib.sh
source benches/lib.sh

# A session to present: signed in on an example server outside callgrind that
# shares the session keys of the one measured.
session_keys="bench:$(head -c 32 /dev/urandom | base64)"
env MFA_LISTEN=127.0.0.1:0 RUST_LOG=warn MFA_SESSION_KEYS="$session_keys" "$bin/example-axum-server" >"$work/signer.log" 2>&1 &
pids+=($!)
session=$(dev_sign_in "$(listening "$work/signer.log")")
[ -n "$session" ] || { echo "$script: signing in failed" >&2; cat "$work/signer.log" >&2; exit 1; }
headers=(-H "Cookie: mfa-guard=$session" -H "Sec-Fetch-Mode: navigate" -H "Accept: text/html")

measure() { # name, command...
    local name=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@" >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=($pid)
    local addr
    addr=$(listening "$work/$name.log")
    for _ in 1 2 3; do
        code=$(curl -s -o "$work/$name.body" -w '%{http_code}' "${headers[@]}" "http://$addr/commerce/customers")
        [ "$code" = 200 ] || { echo "$script: $name answered $code" >&2; exit 1; }
    done
    callgrind_control -z "$pid" >/dev/null 2>&1
    wrk -t1 -c4 -d"${seconds}s" --latency "${headers[@]}" "http://$addr/commerce/customers" >"$work/$name.wrk"
    grep -qE "Non-2xx|Socket errors" "$work/$name.wrk" && { echo "$script: $name had errors" >&2; cat "$work/$name.wrk" >&2; exit 1; }
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    # The dump after zeroing is the file with the highest part number.
    ls "$work/$name.out"* | sort -t. -k3 -n | tail -1 >"$work/$name.file"
}
measure noauth-page "$peers/bench-noauth" 127.0.0.1:0
MFA_LISTEN=127.0.0.1:0 RUST_LOG=warn MFA_SESSION_KEYS="$session_keys" measure axum-session "$bin/example-axum-server"
cmp -s "$work/noauth-page.body" "$work/axum-session.body" ||
    { echo "$script: the floor's page is not the session's page" >&2; exit 1; }

PYTHONPATH=benches python3 - "$work" <<'PY'
import re, subprocess, sys
from wrkstats import read_wrk
work = sys.argv[1]
def profile(name):
    reqs = read_wrk(f"{work}/{name}.wrk", "server-instructions.sh")[0]
    path = open(f"{work}/{name}.file").read().strip()
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"([\d,]+) \(100\.0+%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))
    return reqs, total / reqs, out
floor_reqs, floor, _ = profile("noauth-page")
session_reqs, session, out = profile("axum-session")
print(f"{'scenario':14} {'requests':>9} {'instructions/request':>21}")
print(f"{'noauth-page':14} {floor_reqs:9} {floor:21,.0f}")
print(f"{'axum-session':14} {session_reqs:9} {session:21,.0f}")
print(f"noauth-page / axum-session: {floor / session:.3f}  (as load.sh's session / floor)")
print("\nmfa-guard's functions in axum-session, inclusive instructions per request:")
seen = set()
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:?((?:<)?mfa_guard\S.*?)(?: \[|$)", line)
    if not m or m.group(2) in seen:
        continue
    seen.add(m.group(2))
    per = int(m.group(1).replace(",", "")) / session_reqs
    if per >= 100:
        print(f"{per:9,.0f}  {m.group(2)[:110]}")
PY
