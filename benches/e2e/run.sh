#!/usr/bin/env bash
# The end-to-end load benchmark in one command: Tern, rsyslog and syslog-ng doing the same job
# on this machine, then Tern alone (full speed, CEF only, UDP at a fixed rate, memory through an
# upstream outage). Figures go to stdout as Markdown tables; benches/README.md keeps them.
# Usage: benches/e2e/run.sh [e2e options, see --help]   (about 9 minutes with the defaults)
set -euo pipefail
cd "$(dirname "$0")/../.."
wants_help=false
for arg in "$@"; do
  case "$arg" in -h|--help) wants_help=true ;; esac
done
# Installing packages and raising a sysctl are for a run, not for reading the options.
if [ "$(id -u)" = 0 ] && [ "$wants_help" = false ]; then
  bash .ci/packages.sh
  # Let the UDP listener have the 32 MiB receive buffer the benchmark asks for.
  sysctl -q -w net.core.rmem_max=33554432 || true
fi
# The packaged build: ISA-L gzip (the `isal` feature; .ci/packages.sh installs nasm and
# autotools). TERN_FEATURES="" measures the default build instead.
features="${TERN_FEATURES-isal}"
cargo build --release -q -p tern --features "$features"
cargo build --release -q -p tern-benches --example e2e
exec target/release/examples/e2e "$@"
