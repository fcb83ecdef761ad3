#!/usr/bin/env bash
# Load benchmark: the example servers against the floor (no authentication) and the
# peer (jwt-authorizer 0.15 doing the same checks), in alternating rounds.
#
#   benches/load.sh [ROUNDS] [SECONDS] [CONNECTIONS]      (defaults: 5 10 32)
#   SCENARIOS="axum-verify jwt-authorizer" benches/load.sh   (a subset, same rounds)
#
# axum-session is a signed-in browser: the axum example in development mode (browser
# mode on, and the in-process memory store development mode uses when
# MFA_SESSION_STORE is unset), a session cookie got by signing in through its
# development issuer with curl before each round, and top-level navigations
# (Sec-Fetch-Mode: navigate), which the example answers with its HTML page.
# noauth-page is the floor asked as that browser asks (the same headers, cookie
# included), which it answers with the same page, rendered per request by the same
# template (example-page) — the script checks the two pages are the same bytes — so
# session / noauth-page measures the guard alone. (A bearer token's request is never
# a navigation: the examples answer it with JSON, whatever its other headers.)
# axum-session-store is the same browser on the same server with a session store
# (MFA_SESSION_STORE on a redis-server this script starts on loopback): each session
# carries an id that every request looks up in the server's local copy of the
# revocations, never in Redis (the round's line counts the commands Redis ran).
#
# Every server runs pinned to CPU 0 (one tokio / actix worker, since the affinity
# mask has one CPU), wrk runs pinned to CPU 1 with one thread. Each round runs every
# scenario once, in turn, so slow drifts of a shared machine hit all of them alike.
# Printed: per scenario the median req/s, p50/p99 latency and server CPU per
# request (user + system, and each alone) over the rounds, then the ratios the
# performance targets are written in.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-10}
connections=${3:-32}

all=(noauth axum-hit axum-verify actix-hit actix-verify jwt-authorizer noauth-page axum-session axum-session-store)
read -r -a scenarios <<<"${SCENARIOS:-${all[*]}}"
for s in "${scenarios[@]}"; do
    [[ " ${all[*]} " == *" $s "* ]] || { echo "load.sh: unknown scenario $s (known: ${all[*]})" >&2; exit 2; }
done
store=$([[ " ${scenarios[*]} " == *" axum-session-store "* ]] && echo yes || echo no)

command -v wrk >/dev/null || { echo "load.sh: needs wrk (Debian: apt-get install wrk)" >&2; exit 2; }
if [ "$store" = yes ]; then
    for tool in redis-server redis-cli; do
        command -v $tool >/dev/null || { echo "load.sh: axum-session-store needs $tool (Debian: redis-server)" >&2; exit 2; }
    done
fi
command -v taskset >/dev/null || { echo "load.sh: needs taskset (util-linux)" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "load.sh: needs two CPUs (server on one, load on the other)" >&2; exit 2; }

echo "building release binaries ..." >&2
cargo build -q --release --locked -p example-axum-server -p example-actix-server -p mfa-guard-cli
cargo build -q --release --manifest-path benches/peers/Cargo.toml -p bench-noauth -p bench-jwt-authorizer
# Where cargo put them (CARGO_TARGET_DIR, when set, holds both workspaces' builds).
bin=${CARGO_TARGET_DIR:-target}/release
peers=${CARGO_TARGET_DIR:-benches/peers/target}/release

script=load.sh
# shellcheck source=benches/lib.sh
source benches/lib.sh
# jwt-authorizer has no {tenantid} templates: it gets the token's own issuer.
concrete_issuer=$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["iss"])' "$token")

declare -A addr pid
start() { # name, command...
    local name=$1; shift
    taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
    pid[$name]=$!
    pids+=($!)
}
start noauth "$peers/bench-noauth" 127.0.0.1:0
start jwt-authorizer "$peers/bench-jwt-authorizer" 127.0.0.1:0 "$jwks" "$concrete_issuer" "$audience"
for fw in axum actix; do
    for cache in hit verify; do
        capacity=$([ $cache = hit ] && echo 10000 || echo 0)
        env MFA_LISTEN=127.0.0.1:0 MFA_ISSUER="$issuer" MFA_JWKS_URL="$jwks" MFA_AUDIENCE="$audience" \
            MFA_TOKEN_CACHE_CAPACITY="$capacity" RUST_LOG=warn \
            taskset -c 0 "$bin/example-$fw-server" >"$work/$fw-$cache.log" 2>&1 &
        pid[$fw-$cache]=$!
        pids+=($!)
    done
done
# A signed-in browser: the axum example in development mode, fixed session keys;
# and the same with the session store.
session_keys="bench:$(head -c 32 /dev/urandom | base64)"
env MFA_LISTEN=127.0.0.1:0 RUST_LOG=warn MFA_SESSION_KEYS="$session_keys" \
    taskset -c 0 "$bin/example-axum-server" >"$work/axum-session.log" 2>&1 &
pid[axum-session]=$!
pids+=($!)
if [ "$store" = yes ]; then
    start_redis
    env MFA_LISTEN=127.0.0.1:0 RUST_LOG=warn MFA_SESSION_KEYS="$session_keys" MFA_SESSION_STORE="$redis_url" \
        taskset -c 0 "$bin/example-axum-server" >"$work/axum-session-store.log" 2>&1 &
    pid[axum-session-store]=$!
    pids+=($!)
fi

# The request headers of scenario $1, one per line.
headers() {
    if [[ $1 == axum-session* ]]; then
        printf '%s\n' "Cookie: mfa-guard=$session" "Sec-Fetch-Mode: navigate" "Accept: text/html"
    elif [ "$1" = noauth-page ]; then
        printf '%s\n' "Cookie: mfa-guard=$floor_cookie" "Sec-Fetch-Mode: navigate" "Accept: text/html"
    else
        printf '%s\n' "Authorization: Bearer $token"
    fi
}
# noauth-page is the floor's server asked as the signed-in browser asks, with a
# cookie of the same kind (which the floor ignores), so the requests are the same
# bytes on both sides; and it must answer the same page as the session scenarios.
ln -s noauth.log "$work/noauth-page.log"
pid[noauth-page]=${pid[noauth]}
floor_cookie=$(dev_sign_in "$(listening "$work/axum-session.log")")
[ -n "$floor_cookie" ] || { echo "load.sh: signing in for noauth-page failed" >&2; cat "$work/axum-session.log" >&2; exit 1; }
session=""
for s in "${scenarios[@]}"; do
    addr[$s]=$(listening "$work/$s.log")
    if [[ $s == axum-session* ]]; then
        session=$(dev_sign_in "${addr[$s]}")
        [ -n "$session" ] || { echo "load.sh: signing in on $s failed" >&2; cat "$work/$s.log" >&2; exit 1; }
    fi
    # Warm up (first key fetch, caches) and check the route answers 200.
    mapfile -t hdrs < <(headers "$s")
    args=(); for h in "${hdrs[@]}"; do args+=(-H "$h"); done
    code=$(curl -s -o "$work/$s.body" -w '%{http_code}' "${args[@]}" "http://${addr[$s]}/commerce/customers")
    [ "$code" = 200 ] || { echo "load.sh: $s answered $code" >&2; cat "$work/$s.log" >&2; exit 1; }
done
for s in axum-session axum-session-store; do
    if [ -f "$work/noauth-page.body" ] && [ -f "$work/$s.body" ] && ! cmp -s "$work/noauth-page.body" "$work/$s.body"; then
        echo "load.sh: the floor's page is not $s's page, so their ratio would not measure the guard alone:" >&2
        diff <(tr '>' '\n' <"$work/noauth-page.body") <(tr '>' '\n' <"$work/$s.body") >&2 || true
        exit 1
    fi
done

ticks=$(getconf CLK_TCK)
# utime and stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{print $14 "," $15}' "/proc/$1/stat"; }
echo "scenario,round,rps,p50_us,p99_us,cpu_us_per_req,user_us_per_req,sys_us_per_req" >"$work/results.csv"
for round in $(seq 1 "$rounds"); do
    for s in "${scenarios[@]}"; do
        if [[ $s == axum-session* ]]; then
            # A fresh session each round: a browser's cookie is rewritten at most once
            # a minute, which a replayed cookie never is.
            session=$(dev_sign_in "${addr[$s]}")
        fi
        [ "$s" = axum-session-store ] && redis_before=$(redis_commands)
        mapfile -t hdrs < <(headers "$s")
        args=(); for h in "${hdrs[@]}"; do args+=(-H "$h"); done
        before=$(cpu_ticks "${pid[$s]}")
        out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency \
            "${args[@]}" "http://${addr[$s]}/commerce/customers")
        after=$(cpu_ticks "${pid[$s]}")
        echo "$out" | grep -qE "Non-2xx|Socket errors" && { echo "load.sh: $s had errors:" >&2; echo "$out" >&2; exit 1; }
        echo "$out" >"$work/wrk.out"
        PYTHONPATH=benches python3 - "$s" "$round" "$before" "$after" "$ticks" "$work/results.csv" "$work/wrk.out" <<'PY'
import sys
from wrkstats import read_wrk
s, rnd, before, after, ticks, csv, wrk = sys.argv[1:]
reqs, rps, p50, p99 = read_wrk(wrk, "load.sh")
(u0, s0), (u1, s1) = (map(int, before.split(","))), (map(int, after.split(",")))
per_req = lambda ticks_used: ticks_used / int(ticks) * 1e6 / reqs
user, system = per_req(u1 - u0), per_req(s1 - s0)
with open(csv, "a") as f:
    f.write(f"{s},{rnd},{rps:.0f},{p50:.0f},{p99:.0f},{user + system:.2f},{user:.2f},{system:.2f}\n")
PY
        note=""
        if [ "$s" = axum-session-store ]; then
            note="  (Redis ran $(($(redis_commands) - redis_before - 1)) commands during it)"
        fi
        echo "round $round/$rounds  $(tail -1 "$work/results.csv")$note" >&2
    done
done

PYTHONPATH=benches python3 - "$work/results.csv" <<'PY'
import sys
from wrkstats import Rounds
keys = ("rps", "p50_us", "p99_us", "cpu_us_per_req", "user_us_per_req", "sys_us_per_req")
rounds = Rounds(sys.argv[1], keys)
med = rounds.median
print(f"{'scenario':20} {'req/s':>9} {'p50 µs':>8} {'p99 µs':>8} {'CPU µs/req':>11} {'user':>7} {'sys':>7}"
      f"   (medians of {rounds.count} rounds)")
for s, m in med.items():
    print(f"{s:20} {m['rps']:9.0f} {m['p50_us']:8.0f} {m['p99_us']:8.0f} {m['cpu_us_per_req']:11.2f}"
          f" {m['user_us_per_req']:7.2f} {m['sys_us_per_req']:7.2f}")
print()
def line(label, a, b, key="rps", target=""):
    if a in med and b in med:
        of_medians, paired = rounds.ratio(a, b, key)
        print(f"{label:36} {of_medians:9.2f}x {paired:9.2f}x   {target}")
print(f"{'ratio':36} {'of medians':>10} {'per round':>10}")
line("axum-hit / noauth", "axum-hit", "noauth", target="(target >= 0.85)")
line("noauth-page / noauth", "noauth-page", "noauth", target="(the page instead of JSON)")
line("axum-session / noauth-page", "axum-session", "noauth-page", target="(target >= 0.85)")
line("axum-session-store / axum-session", "axum-session-store", "axum-session", target="(target >= 0.95)")
line("axum-session-store / noauth-page", "axum-session-store", "noauth-page", target="(target >= 0.85)")
line("axum-hit / jwt-authorizer", "axum-hit", "jwt-authorizer", target="(target >= 5)")
line("axum-verify / jwt-authorizer", "axum-verify", "jwt-authorizer", target="(target >= 1.10)")
line("  user CPU: jwt-auth. / axum-v.", "jwt-authorizer", "axum-verify", key="user_us_per_req")
line("actix-hit / axum-hit", "actix-hit", "axum-hit", target="(target within 10%)")
line("actix-verify / axum-verify", "actix-verify", "axum-verify", target="(target within 10%)")
for s in ("axum-verify", "actix-verify"):
    if s in med and "noauth" in med:
        print(f"CPU/req {s} - noauth = {med[s]['cpu_us_per_req'] - med['noauth']['cpu_us_per_req']:.2f} µs")
PY
