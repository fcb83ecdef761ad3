# shellcheck shell=bash disable=SC2034,SC2154  # sourced: $script and $bin come from the script, the rest goes to it
# What benches/load.sh and benches/forward.sh share, sourced by both after they
# built the release binaries into $bin: a scratch directory and the processes to stop on exit,
# waiting for a server's address, a free port, a redis-server of the run's own, and
# the development issuer with a token.
# The sourcing script sets $script (its name, for messages) and $bin first.

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A free TCP port on loopback (for servers told their port rather than asked).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A redis-server of this run's own, for the session store: loopback, a free port,
# its directory under $work, nothing saved, stopped on exit with the rest; on CPU 1
# beside the load (a signed-in request never asks it anything). Sets $redis_port
# and $redis_url.
start_redis() {
    local dir="$work/redis"
    redis_port=$(free_port)
    mkdir -p "$dir"
    taskset -c 1 redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$dir" --logfile "$dir/redis.log" \
        --daemonize no --save '' --appendonly no >/dev/null 2>&1 &
    pids+=($!)
    redis_url="redis://127.0.0.1:$redis_port"
    for _ in $(seq 1 100); do
        [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "$script: redis-server did not answer on port $redis_port:" >&2; cat "$dir/redis.log" >&2; exit 1
}

# How many commands the redis-server of start_redis has processed so far.
redis_commands() { redis-cli -p "$redis_port" info stats | awk -F: '/^total_commands_processed:/ { print $2+0 }'; }

# Waits for "listening on http://ADDR" in a log and prints ADDR.
listening() {
    for _ in $(seq 1 300); do
        if grep -q "listening on http://" "$1" 2>/dev/null; then
            grep -m1 -o "listening on http://[0-9.:]*" "$1" | sed 's|listening on http://||'
            return 0
        fi
        sleep 0.1
    done
    echo "$script: nothing listening per $1:" >&2; cat "$1" >&2; exit 1
}

# Signs in at ADDR ($1: a server in development mode, or a proxy in front of
# `mfa-guard serve` in browser mode) as the admin agent with MFA, following its
# redirect to the development issuer's sign-in page and clicking through it with
# curl; prints the session cookie.
dev_sign_in() {
    local base="http://$1" jar="$work/jar.txt" authorize form callback
    rm -f "$jar"
    authorize=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -H 'Sec-Fetch-Mode: navigate' "$base/commerce/customers")
    form=$(curl -s -c "$jar" -b "$jar" "$authorize" | python3 -c '
import html, re, sys, urllib.parse
page = sys.stdin.read()
pairs = re.findall(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">", page)
pairs = [(n, html.unescape(v)) for n, v in pairs] + [("user", "admin"), ("method", "mfa")]
print(urllib.parse.urlencode(pairs))')
    # The form goes back to the sign-in page's own address (its query dropped).
    callback=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" --data "$form" "${authorize%%\?*}")
    curl -s -o /dev/null -c "$jar" -b "$jar" -H 'Sec-Fetch-Mode: navigate' "$callback"
    awk '$6 == "mfa-guard" { print $7 }' "$jar"
}

# The issuer: the CLI's development issuer (on CPU 1, beside the load) serves the
# JWKS every server fetches; $token is a user token with MFA, valid for 3 hours.
"$bin/mfa-guard" mint --save-key "$work/key.pem" >/dev/null
taskset -c 1 "$bin/mfa-guard" dev-issuer --listen 127.0.0.1:0 --key "$work/key.pem" >"$work/idp.log" 2>&1 &
pids+=($!)
idp=$(listening "$work/idp.log")
jwks="http://$idp/.well-known/jwks.json"
issuer='https://sts.windows.net/{tenantid}/'
audience=https://api.partnercenter.microsoft.com
token=$("$bin/mfa-guard" mint --key "$work/key.pem" --expires-in 3h)
