#!/usr/bin/env bash
# Stream throughput and memory against redis-server, side by side (see compare.sh and
# memory.sh for how each is measured).
#
#   bench/streams.sh [--rounds N] [--entries N] [--save] [--no-build]
#
# Throughput: XADD (3 fields), XRANGE of 10 entries, XREADGROUP (COUNT 1, >) and XACK, at
# pipelines 1 and 16. Memory: one stream of --entries entries (default 1000000) of 3 fields.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3 ENTRIES=1000000 EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --entries) ENTRIES=$2; shift 2 ;;
    --save|--no-build) EXTRA+=("$1"); shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench/compare.sh --rounds "$ROUNDS" --tests xadd,xrange10,xreadgroup,xack "${EXTRA[@]}"
MEM=(--no-build)
for a in "${EXTRA[@]}"; do [ "$a" = --save ] && MEM+=(--save); done
bench/memory.sh --type stream --keys "$ENTRIES" --fields 3 "${MEM[@]}"
