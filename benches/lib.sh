# What benches/load.sh and benches/forward.sh share, sourced by both after they
# built target/release: a scratch directory and the processes to stop on exit,
# waiting for a server's address, and the development issuer with a token.
# The sourcing script sets $script (its name, for messages) first.

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

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

# The issuer: the CLI's development issuer (on CPU 1, beside the load) serves the
# JWKS every server fetches; $token is a user token with MFA, valid for 3 hours.
"target/release/mfa-guard" mint --save-key "$work/key.pem" >/dev/null
taskset -c 1 "target/release/mfa-guard" dev-issuer --listen 127.0.0.1:0 --key "$work/key.pem" >"$work/idp.log" 2>&1 &
pids+=($!)
idp=$(listening "$work/idp.log")
jwks="http://$idp/.well-known/jwks.json"
issuer='https://sts.windows.net/{tenantid}/'
audience=https://api.partnercenter.microsoft.com
token=$("target/release/mfa-guard" mint --key "$work/key.pem" --expires-in 3h)
