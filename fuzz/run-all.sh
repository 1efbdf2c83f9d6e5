#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), seeded from ../shared/corpus.
# Usage: fuzz/run-all.sh [SECONDS]   (needs cargo-fuzz; works on stable via RUSTC_BOOTSTRAP=1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-20}
cd "$here/.."
[ -d "$here/corpus/parse" ] || "$here/seed.sh" >/dev/null
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in $(cat "$here/targets"); do
  echo "== fuzz $target for ${seconds}s"
  cargo fuzz run -O "$target" "$here/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)|panicked|ERROR' || true
  if ls "$here/artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "fuzz target $target found a crash: $(ls "$here/artifacts/$target"/crash-*)"
    exit 1
  fi
done
