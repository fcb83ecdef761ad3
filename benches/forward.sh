#!/usr/bin/env bash
# Forward-auth benchmark: nginx in front of an application, without authentication
# and with mfa-guard serve through the shipped auth_request recipe (verified-token
# cache on, and off), in alternating rounds; the axum example in-process beside
# them, for the cost of one decision; and a signed-in person's navigation through
# the same recipe to serve in browser mode.
#
#   benches/forward.sh [ROUNDS] [SECONDS] [CONNECTIONS]      (defaults: 5 10 32)
#   SCENARIOS="nginx-serve-hit nginx-serve-session" benches/forward.sh   (a subset)
#
# Every server-side process (nginx with one process, mfa-guard serve, the
# application, the axum example) runs pinned to CPU 0; wrk runs pinned to CPU 1
# with one thread. Printed: per scenario the median req/s, p50/p99 latency, the CPU
# per request of the whole server side and of mfa-guard alone, then the ratios.
#
# nginx-serve-session is a signed-in browser at the gate: serve in browser mode
# (MFA_OIDC_*, signing in at a development issuer whose client is this nginx's
# /.mfa-guard/callback), a session cookie got by signing in through nginx with curl
# before each round, top-level navigations (Sec-Fetch-Mode: navigate). Like the
# bearer scenarios, every location names its upstream ($mfa_guard_audience), so
# each admitted request carries a signed identity assertion (its signature cached
# per session and upstream for 40 s, not signed per request).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-10}
connections=${3:-32}
export PATH="$PATH:/usr/sbin"

for tool in wrk taskset nginx curl; do
    command -v "$tool" >/dev/null || { echo "forward.sh: needs $tool (Debian: wrk, util-linux, nginx-light, curl)" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "forward.sh: needs two CPUs (servers on one, load on the other)" >&2; exit 2; }

echo "building release binaries ..." >&2
cargo build -q --release --locked -p example-axum-server -p mfa-guard-cli
cargo build -q --release --manifest-path benches/peers/Cargo.toml -p bench-noauth
# Where cargo put them (CARGO_TARGET_DIR, when set, holds both workspaces' builds).
bin=${CARGO_TARGET_DIR:-target}/release
peers=${CARGO_TARGET_DIR:-benches/peers/target}/release
recipe=$(cd deploy/nginx && pwd)

script=forward.sh
# shellcheck source=benches/lib.sh
source benches/lib.sh

declare -A addr pid
taskset -c 0 "$peers/bench-noauth" 127.0.0.1:0 >"$work/app.log" 2>&1 &
pid[app]=$!; pids+=($!)
app=$(listening "$work/app.log")
for cache in hit verify; do
    capacity=$([ $cache = hit ] && echo 10000 || echo 0)
    env MFA_LISTEN=127.0.0.1:0 MFA_ISSUER="$issuer" MFA_JWKS_URL="$jwks" MFA_AUDIENCE="$audience" \
        MFA_TOKEN_CACHE_CAPACITY="$capacity" RUST_LOG=warn \
        taskset -c 0 "$bin/mfa-guard" serve >"$work/serve-$cache.log" 2>&1 &
    pid[serve-$cache]=$!; pids+=($!)
done
# People at the gate: a development issuer (same key, on CPU 1 beside the load)
# whose sign-in pages serve the client at the session scenario's nginx, and serve
# in browser mode for it.
session_port=$(free_port)
gate="http://127.0.0.1:$session_port"
taskset -c 1 "$bin/mfa-guard" dev-issuer --listen 127.0.0.1:0 --key "$work/key.pem" \
    --redirect-uri "$gate/.mfa-guard/callback" >"$work/signin-idp.log" 2>&1 &
pids+=($!)
signin_idp=$(listening "$work/signin-idp.log")
env MFA_LISTEN=127.0.0.1:0 RUST_LOG=warn MFA_TOKEN_CACHE_CAPACITY=10000 \
    MFA_ISSUER="http://$signin_idp/{tenantid}/" MFA_TENANTS=aaaabbbb-0000-cccc-1111-dddd2222eeee \
    MFA_JWKS_URL="http://$signin_idp/.well-known/jwks.json" MFA_AUDIENCE="$audience" \
    MFA_OIDC_CLIENT_ID=mfa-guard-dev MFA_OIDC_REDIRECT_URI="$gate/.mfa-guard/callback" \
    MFA_OIDC_DISCOVERY_URL="http://$signin_idp/.well-known/openid-configuration" \
    MFA_SESSION_KEYS="bench:$(head -c 32 /dev/urandom | base64)" \
    taskset -c 0 "$bin/mfa-guard" serve >"$work/serve-session.log" 2>&1 &
pid[serve-session]=$!; pids+=($!)
for cache in hit verify; do
    capacity=$([ $cache = hit ] && echo 10000 || echo 0)
    env MFA_LISTEN=127.0.0.1:0 MFA_ISSUER="$issuer" MFA_JWKS_URL="$jwks" MFA_AUDIENCE="$audience" \
        MFA_TOKEN_CACHE_CAPACITY="$capacity" RUST_LOG=warn \
        taskset -c 0 "$bin/example-axum-server" >"$work/axum-$cache.log" 2>&1 &
    pid[axum-$cache]=$!; pids+=($!)
    addr[axum-$cache]=$(listening "$work/axum-$cache.log")
done
addr[noauth]=$app; pid[noauth]=${pid[app]}

# nginx, one process (master_process off), in front of the application: without
# authentication, or with the recipe asking the given mfa-guard; or in front of an
# axum example instead of the application.
nginx_conf() { # name, port, mfa-guard address or "", [upstream address]
    local dir="$work/nginx-$1"; mkdir -p "$dir"
    local guard="" protect=""
    if [ -n "$3" ]; then
        guard="upstream mfa_guard { server $3; keepalive 32; }"
        # The recipe's audience: serve signs the identity assertion for "app".
        protect="set \$mfa_guard_audience app; include $recipe/mfa-guard-protect.conf;"
    fi
    cat >"$dir/nginx.conf" <<EOF
master_process off;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    $guard
    upstream app { server ${4:-$app}; keepalive 32; }
    server {
        listen 127.0.0.1:$2;
        $( [ -n "$3" ] && echo "include $recipe/mfa-guard-server.conf;" )
        location / {
            $protect
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/out.log" 2>&1 &
    pid[$1]=$!; pids+=($!)
    addr[$1]="127.0.0.1:$2"
}
nginx_conf nginx-noauth "$(free_port)" ""
nginx_conf nginx-serve-hit "$(free_port)" "$(listening "$work/serve-hit.log")"
nginx_conf nginx-serve-verify "$(free_port)" "$(listening "$work/serve-verify.log")"
nginx_conf nginx-axum-hit "$(free_port)" "" "${addr[axum-hit]}"
nginx_conf nginx-axum-verify "$(free_port)" "" "${addr[axum-verify]}"
nginx_conf nginx-serve-session "$session_port" "$(listening "$work/serve-session.log")"
# Whose CPU is "the guard's" in a scenario with nginx in front.
declare -A serve_of=([nginx-serve-hit]=serve-hit [nginx-serve-verify]=serve-verify
    [nginx-axum-hit]=axum-hit [nginx-axum-verify]=axum-verify [nginx-serve-session]=serve-session)

all=(noauth nginx-noauth nginx-serve-hit nginx-serve-verify axum-hit axum-verify nginx-axum-hit nginx-axum-verify
    nginx-serve-session)
read -r -a scenarios <<<"${SCENARIOS:-${all[*]}}"
for s in "${scenarios[@]}"; do
    [[ " ${all[*]} " == *" $s "* ]] || { echo "forward.sh: unknown scenario $s (known: ${all[*]})" >&2; exit 2; }
done
# The request headers of scenario $1, one per line: a signed-in browser's
# navigation, or a bearer token.
session=""
headers() {
    if [ "$1" = nginx-serve-session ]; then
        printf '%s\n' "Cookie: mfa-guard=$session" "Sec-Fetch-Mode: navigate" "Accept: text/html"
    else
        printf '%s\n' "Authorization: Bearer $token"
    fi
}
for s in "${scenarios[@]}"; do
    for _ in $(seq 1 100); do
        if [ "$s" = nginx-serve-session ] && [ -z "$session" ]; then
            session=$(dev_sign_in "${addr[$s]}" 2>/dev/null || true)
        fi
        mapfile -t hdrs < <(headers "$s")
        args=(); for h in "${hdrs[@]}"; do args+=(-H "$h"); done
        code=$(curl -s -o /dev/null -w '%{http_code}' "${args[@]}" "http://${addr[$s]}/commerce/customers" || true)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || { echo "forward.sh: $s answered $code" >&2; cat "$work"/*.log "$work"/nginx-*/error.log >&2 || true; exit 1; }
done
# Both sides of the session target sign an identity assertion: serve's answer to
# nginx's subrequest carries one, for the bearer token and for the session alike.
for s in nginx-serve-hit nginx-serve-session; do
    [[ " ${scenarios[*]} " == *" $s "* ]] || continue
    mapfile -t hdrs < <(headers "$s")
    args=(); for h in "${hdrs[@]}"; do args+=(-H "$h"); done
    curl -s -D - -o /dev/null "${args[@]}" -H 'X-Original-Method: GET' -H 'X-Original-URI: /commerce/customers' \
        -H 'X-Mfa-Guard-Audience: app' "http://$(listening "$work/${serve_of[$s]}.log")/nginx/auth" |
        grep -qi '^x-mfa-guard-assertion: ' || { echo "forward.sh: $s's decision carries no assertion" >&2; exit 1; }
done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
server_side() { # scenario -> the pids whose CPU is the server side's
    case $1 in
        noauth) echo "${pid[app]}" ;;
        axum-*) echo "${pid[$1]}" ;;
        nginx-noauth) echo "${pid[nginx-noauth]} ${pid[app]}" ;;
        nginx-axum-*) echo "${pid[$1]} ${pid[${serve_of[$1]}]}" ;;
        *) echo "${pid[$1]} ${pid[app]} ${pid[${serve_of[$1]}]}" ;;
    esac
}
sum_ticks() { local t=0; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
echo "scenario,round,rps,p50_us,p99_us,cpu_us_per_req,guard_us_per_req" >"$work/results.csv"
for round in $(seq 1 "$rounds"); do
    for s in "${scenarios[@]}"; do
        if [ "$s" = nginx-serve-session ]; then
            # A fresh session each round, as benches/load.sh does.
            session=$(dev_sign_in "${addr[$s]}")
            [ -n "$session" ] || { echo "forward.sh: signing in through nginx failed" >&2; cat "$work/serve-session.log" >&2; exit 1; }
        fi
        mapfile -t hdrs < <(headers "$s")
        args=(); for h in "${hdrs[@]}"; do args+=(-H "$h"); done
        read -r -a side <<<"$(server_side "$s")"
        guard_pid=${pid[${serve_of[$s]:-$s}]}
        before=$(sum_ticks "${side[@]}"); gbefore=$(cpu_ticks "$guard_pid")
        out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency \
            "${args[@]}" "http://${addr[$s]}/commerce/customers")
        after=$(sum_ticks "${side[@]}"); gafter=$(cpu_ticks "$guard_pid")
        echo "$out" | grep -qE "Non-2xx|Socket errors" && { echo "forward.sh: $s had errors:" >&2; echo "$out" >&2; exit 1; }
        echo "$out" >"$work/wrk.out"
        PYTHONPATH=benches python3 - "$s" "$round" "$((after - before))" "$((gafter - gbefore))" "$ticks" "$work/results.csv" "$work/wrk.out" <<'PY'
import sys
from wrkstats import read_wrk
s, rnd, used, gused, ticks, csv, wrk = sys.argv[1:]
reqs, rps, p50, p99 = read_wrk(wrk, "forward.sh")
per = lambda t: int(t) / int(ticks) * 1e6 / reqs
guard = per(gused) if s.startswith(("nginx-serve", "axum-", "nginx-axum")) else 0.0
with open(csv, "a") as f:
    f.write(f"{s},{rnd},{rps:.0f},{p50:.0f},{p99:.0f},{per(used):.2f},{guard:.2f}\n")
PY
        echo "round $round/$rounds  $(tail -1 "$work/results.csv")" >&2
    done
done

PYTHONPATH=benches python3 - "$work/results.csv" <<'PY'
import sys
from wrkstats import Rounds
keys = ("rps", "p50_us", "p99_us", "cpu_us_per_req", "guard_us_per_req")
rounds = Rounds(sys.argv[1], keys)
med = rounds.median
print(f"{'scenario':20} {'req/s':>9} {'p50 µs':>8} {'p99 µs':>8} {'CPU µs/req':>11} {'guard µs/req':>13}"
      f"   (medians of {rounds.count} rounds; CPU of every server-side process)")
for s, m in med.items():
    print(f"{s:20} {m['rps']:9.0f} {m['p50_us']:8.0f} {m['p99_us']:8.0f} {m['cpu_us_per_req']:11.2f} {m['guard_us_per_req']:13.2f}")
print()
def line(label, a, b, key="rps", target=""):
    if a not in med or b not in med:
        return
    of_medians, paired = rounds.ratio(a, b, key)
    print(f"{label:48} {of_medians:9.2f}x {paired:9.2f}x   {target}")
print(f"{'ratio':48} {'of medians':>10} {'per round':>10}")
line("nginx-serve-hit / nginx-noauth", "nginx-serve-hit", "nginx-noauth")
line("nginx-serve-verify / nginx-noauth", "nginx-serve-verify", "nginx-noauth")
line("nginx-noauth / noauth", "nginx-noauth", "noauth")
# A signed-in navigation against a cached bearer decision, both through nginx and
# serve with an assertion: serve's CPU per decision (the target), the whole
# server side's, and throughput.
line("session / bearer cached: serve CPU/decision", "nginx-serve-session", "nginx-serve-hit",
     key="guard_us_per_req", target="(target <= 1.10)")
line("session / bearer cached: server-side CPU/req", "nginx-serve-session", "nginx-serve-hit",
     key="cpu_us_per_req")
line("session / bearer cached: req/s", "nginx-serve-session", "nginx-serve-hit", target="(>= 0.91 is <= 1.1x)")
# The axum example's CPU per request, asked directly by wrk and behind the same
# nginx as serve: both are "the same request through the axum example", the second
# under the load pattern serve sees (nginx's keep-alive connections, nginx's rate).
for c in ("hit", "verify"):
    for base, where in ((f"axum-{c}", "direct"), (f"nginx-axum-{c}", "behind nginx")):
        if f"nginx-serve-{c}" not in med or base not in med:
            continue
        serve, axum = med[f"nginx-serve-{c}"]["guard_us_per_req"], med[base]["guard_us_per_req"]
        of_medians, paired = rounds.ratio(f"nginx-serve-{c}", base, "guard_us_per_req")
        print(f"CPU of one decision in serve / one request through the axum example ({where}), {c}: "
              f"{serve:.2f} / {axum:.2f} µs = {of_medians:.2f}x ({paired:.2f}x per round; target <= 1.10)")
PY
