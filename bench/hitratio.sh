#!/usr/bin/env bash
# Eviction quality: hit ratio of a cache-aside trace, kvasir vs redis-server, side by side.
#
#   bench/hitratio.sh [--keys 200000] [--requests 2000000] [--value 200] [--maxmemory 6mb]
#                     [--zipf 0.99] [--policies "allkeys-lru allkeys-lfu"] [--save] [--no-build]
#
# The trace (crates/server/examples/hitratio.rs) GETs keys drawn from a Zipf distribution and
# SETs the ones that miss. By default the keyspace (200k keys of 200 bytes, ~56 MB in
# redis-server) is about ten times what the 6 MB maxmemory holds in redis-server. Each policy
# runs on a fresh server of each kind with the same maxmemory, policy and trace (same seed);
# the first fifth of the trace warms the cache and is not counted. Prints both hit ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=200000 REQUESTS=2000000 VALUE=200 MAXMEMORY=6mb ZIPF=0.99 POLICIES="allkeys-lru allkeys-lfu" SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) KEYS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --value) VALUE=$2; shift 2 ;;
    --maxmemory) MAXMEMORY=$2; shift 2 ;;
    --zipf) ZIPF=$2; shift 2 ;;
    --policies) POLICIES=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"
if [ "$BUILD" = 1 ]; then cargo build --release -q -p kvasir-server --example hitratio; fi
LOAD="${CARGO_TARGET_DIR:-target}/release/examples/hitratio"
[ -x "$LOAD" ] || { echo "no trace generator at $LOAD" >&2; exit 1; }

bench_setup kvasir-hitratio
REPORT="$WORK/report"
{
  echo "# hit ratio: cache-aside GET/SET, Zipf s=$ZIPF over $KEYS keys of $VALUE bytes, $REQUESTS requests, maxmemory $MAXMEMORY"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel=$(uname -r)"
  echo "kvasir: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
  echo "peer: $(redis-server --version | head -1)"
  echo
  printf "%-14s %-8s %10s %10s %8s %10s %12s\n" policy server hits gets ratio keys used_memory
} >"$REPORT"

for policy in $POLICIES; do
  for server in kvasir redis; do
    port=$(free_port)
    if [ "$server" = kvasir ]; then
      start_server "kvasir-$policy" "$port" "$(realpath "$KVASIR")" --port "$port" --bind 127.0.0.1 --save "" \
        --appendonly no --maxmemory "$MAXMEMORY" --maxmemory-policy "$policy"
    else
      start_server "redis-$policy" "$port" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$WORK" --maxmemory "$MAXMEMORY" --maxmemory-policy "$policy"
    fi
    read -r hits gets ratio < <("$LOAD" "$port" "$KEYS" "$REQUESTS" "$VALUE" "$ZIPF" 1)
    keys=$(redis-cli -p "$port" dbsize)
    used=$(redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
    printf "%-14s %-8s %10s %10s %8s %10s %12s\n" "$policy" "$server" "$hits" "$gets" "$ratio" "$keys" "$used" | tee -a "$REPORT"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
done

if [ "$SAVE" = 1 ]; then save_report "$REPORT" hitratio; fi
