#!/usr/bin/env bash
# Cost as work grows: runs the growth benchmarks (crates/mfa-guard-core/benches/growth.rs)
# and prints each size's median against the smallest size of the same run.
#
#   benches/growth.sh [CRITERION ARGS...]   (e.g. benches/growth.sh growth/routes)
#
# Defaults to 1 s of warm-up and 3 s of measurement per case; filling the cache with
# a million tokens takes about a minute and 1 GiB.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CRITERION_HOME=$work cargo bench -p mfa-guard-core --bench growth -- --warm-up-time 1 --measurement-time 3 "$@" >&2
python3 - "$work" <<'PY'
import json, os, sys

root = sys.argv[1]
series = [
    ("growth_routes", "matched", ["10", "1000", "10000"], "routes (path under the last rule)"),
    ("growth_routes", "fallback", ["10", "1000", "10000"], "routes (no rule matches)"),
    ("growth_issuers", None, ["1", "10", "100"], "exact issuers (HS256, cache off)"),
    ("growth_tenants", None, ["1", "1000", "100000"], "tenants allowed (HS256, cache off)"),
    ("growth_token_cache", None, ["1000", "1000000"], "tokens cached (shared-level hit)"),
    ("growth_role_map_groups", None, ["10", "1000"], "group ids in the role map (HS256, cache off)"),
]

def median(group, case):
    path = os.path.join(root, group, case, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    return json.load(open(path))["median"]["point_estimate"]

print("| as work grows | sizes | medians (ratio to the smallest) |")
print("|---|---|---|")
for group, sub, sizes, label in series:
    values = [median(group, f"{sub}/{size}" if sub else size) for size in sizes]
    if values[0] is None:
        continue
    cells = ", ".join(
        f"{v / 1000:.2f} µs ({v / values[0]:.2f}×)" if v is not None else "—" for v in values
    )
    print(f"| {label} | {' / '.join(sizes)} | {cells} |")
PY
