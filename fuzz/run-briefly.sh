#!/usr/bin/env bash
# Runs every fuzz target briefly, as CI does: installs cargo-fuzz when absent,
# builds all targets once, runs each for FUZZ_SECONDS (default 20) on one core,
# and exits non-zero on the first crash (the input is left in fuzz/artifacts/).
#
# cargo fuzz passes nightly-only flags (-Zsanitizer=address, sancov); a stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1. Long campaigns: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-20}"
targets=(token authorization jwks config)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo fuzz build

# libFuzzer writes what it finds into the first corpus directory it is given; the
# committed seeds (fuzz/corpus/<target>/seed-*) come second, read only.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    printf '\n==> fuzz %s for %ss\n' "$target" "$seconds"
    log="$work/$target.log"
    status=0
    cargo fuzz run "$target" "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=20000 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|stat::peak_rss_mb)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 80 "$log" >&2
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/ (see fuzz/README.md)" >&2
        exit 1
    fi
done
printf '\nall fuzz targets ran %ss each without a failure\n' "$seconds"
