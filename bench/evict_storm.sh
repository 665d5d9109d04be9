#!/usr/bin/env bash
# Eviction under a write storm: how far used_memory overshoots maxmemory, kvasir vs
# redis-server, side by side.
#
#   bench/evict_storm.sh [--maxmemory 64mb] [--clients 50] [--requests 2000000] [--pipeline 1]
#                        [--threads 2] [--save] [--no-build]
#
# Each server gets maxmemory and allkeys-lru, then redis-benchmark writes 1 KB values under
# random keys (a keyspace far bigger than what fits) from many connections (kvasir runs them on
# all its worker threads) while INFO used_memory is sampled every ~10 ms. Reports the peak and
# the largest overshoot above maxmemory, the keys evicted and the write throughput.
set -euo pipefail
cd "$(dirname "$0")/.."

MAXMEMORY=64mb CLIENTS=50 REQUESTS=2000000 PIPELINE=1 THREADS=2 SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --maxmemory) MAXMEMORY=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --pipeline) PIPELINE=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"
bench_setup kvasir-evict-storm
REPORT="$WORK/report"
{
  echo "# eviction under a write storm: SET of 1 KB values, $CLIENTS clients, pipeline $PIPELINE, maxmemory $MAXMEMORY, allkeys-lru"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel=$(uname -r)"
  echo "kvasir: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), worker threads $THREADS"
  echo "peer: $(redis-server --version | head -1)"
  echo
  printf "%-8s %12s %12s %12s %10s %10s %8s\n" server maxmemory peak_used max_over evicted sets_per_s samples
} >"$REPORT"

for server in kvasir redis; do
  port=$(free_port)
  if [ "$server" = kvasir ]; then
    start_server kvasir "$port" "$(realpath "$KVASIR")" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --worker-threads "$THREADS" --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru
  else
    start_server redis "$port" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize no --dir "$WORK" --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru
  fi
  limit=$(redis-cli -p "$port" config get maxmemory | tail -1)
  samples="$WORK/$server.samples"
  : >"$samples"
  redis-benchmark -p "$port" -t set -d 1024 -r 100000000 -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -q \
    >"$WORK/$server.bench" 2>&1 &
  bench=$!
  while kill -0 "$bench" 2>/dev/null; do
    redis-cli -p "$port" info memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }' >>"$samples"
    sleep 0.01
  done
  wait "$bench" || true
  rate=$(tr '\r' '\n' <"$WORK/$server.bench" | awk '/requests per second/ { print $2 }' | tail -1)
  evicted=$(redis-cli -p "$port" info stats | tr -d '\r' | awk -F: '$1 == "evicted_keys" { print $2 }')
  read -r peak n < <(awk 'BEGIN { m = 0 } { if ($1 > m) m = $1; n++ } END { print m, n }' "$samples")
  over=$((peak > limit ? peak - limit : 0))
  printf "%-8s %12s %12s %12s %10s %10s %8s\n" "$server" "$limit" "$peak" "$over" "$evicted" "$rate" "$n" | tee -a "$REPORT"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
done

if [ "$SAVE" = 1 ]; then save_report "$REPORT" evict-storm; fi
