#!/usr/bin/env bash
# Per-request figures that do not move with the host: instructions (callgrind) and
# heap allocations (calls to malloc, calloc and realloc that callgrind saw) of one
# request in the engine, for the no-auth floor (a public route, no token), a
# verified-token cache hit, a full RS256 verification (the cache off), a signed-in
# browser session, and one RS256 verification alone.
#
#   benches/instructions.sh [REQUESTS]      (default 2000; the RS256 rows use a quarter)
#
# The scenarios live in crates/mfa-guard-core/benches/per_request.rs; callgrind counts
# only inside its `measured` function (--toggle-collect), so setup, key generation
# and the first request (lazy statics, the first cache entry) are not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 2; }

echo "building the per_request benchmark ..." >&2
bin=$(cargo bench -p mfa-guard-core --bench per_request --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "per_request" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "instructions.sh: the per_request benchmark did not build" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A count
for scenario in floor hit session verified rs256; do
    n=$requests
    case $scenario in verified | rs256) n=$((requests / 4)) ;; esac
    count[$scenario]=$n
    valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file="$work/$scenario.out" \
        "$bin" "$scenario" "$n" >"$work/$scenario.log" 2>&1 ||
        { echo "instructions.sh: $scenario failed:" >&2; cat "$work/$scenario.log" >&2; exit 1; }
done

python3 - "$work" floor:"${count[floor]}" hit:"${count[hit]}" session:"${count[session]}" \
    verified:"${count[verified]}" rs256:"${count[rs256]}" <<'PY'
import re, sys

ALLOCATORS = {"malloc", "calloc", "realloc", "aligned_alloc", "posix_memalign", "memalign"}

def read(path):
    """Instructions and allocator calls in a callgrind profile."""
    names, total, allocs, callee = {}, 0, 0, None
    for line in open(path):
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
            continue
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2).strip()
            callee = names.get(m.group(1), "") if line.startswith("cfn=") else None
            continue
        if line.startswith("calls=") and callee is not None:
            if callee in ALLOCATORS:
                allocs += int(line[6:].split()[0])
            callee = None
    return total, allocs

work, runs = sys.argv[1], [arg.split(":") for arg in sys.argv[2:]]
rows = {}
for name, n in runs:
    total, allocs = read(f"{work}/{name}.out")
    rows[name] = (total / int(n), allocs / int(n))
labels = {
    "floor": "no-auth floor (public route, no token)",
    "hit": "cache hit (RS256 token verified before)",
    "session": "signed-in browser session",
    "verified": "full verification (RS256, cache off)",
    "rs256": "one RS256 verification alone",
}
print("| per request | instructions | heap allocations |")
print("|---|---:|---:|")
for name, _ in runs:
    ir, allocs = rows[name]
    print(f"| {labels[name]} | {ir:,.0f} | {allocs:.1f} |")
floor, rs = rows["floor"][0], rows["rs256"][0]
print()
print(f"verified / (floor + one RS256 verification): {rows['verified'][0] / (floor + rs):.3f}x (goal <= 1.15x)")
print(f"hit / floor: {rows['hit'][0] / floor:.2f}x; verified above floor + RS256: "
      f"{rows['verified'][0] - floor - rs:,.0f} instructions, "
      f"{rows['verified'][1] - rows['floor'][1] - rows['rs256'][1]:.1f} allocations")
PY
