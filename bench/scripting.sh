#!/usr/bin/env bash
# Transactions and scripts, kvasir vs redis-server, side by side, alternating over rounds.
#
#   bench/scripting.sh [--rounds 5] [--seconds 3] [--clients 50] [--threads N] [--save] [--no-build]
#
# The load generator is crates/server/examples/txbench.rs (redis-benchmark cannot send a
# MULTI/EXEC block as one request). Each round runs, on both servers, alternating which goes
# first:
#   evalsha3   EVALSHA of a script that INCRs its one declared key three times, --clients
#              connections, one request in flight each
#   multi3     MULTI, INCR x3 of one key, EXEC, sent as one write
#   incr       INCR alone with 45 clients (the baseline of the next line)
#   incr+slow  INCR with 45 clients while 5 other clients run EVALSHA of a script that INCRs
#              its own declared key 1000 times (~1 ms each): how much of the INCR throughput is
#              left while scripts run (Valkey serves no one during a script; kvasir serves
#              the shards the script does not hold)
# Keys are drawn from 100,000 (redis-benchmark's -r). Prints the medians over rounds and the
# ratio kvasir/redis; for incr+slow, the share of the baseline INCR throughput each server
# keeps, and the INCR p99 latency. --threads sets kvasir's --worker-threads (default: its
# own default, one per core).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5 SECONDS_PER=3 CLIENTS=50 THREADS="" SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"
if [ "$BUILD" = 1 ]; then cargo build --release -q -p kvasir-server --example txbench; fi
LOAD="${CARGO_TARGET_DIR:-target}/release/examples/txbench"
[ -x "$LOAD" ] || { echo "no load generator at $LOAD" >&2; exit 1; }

bench_setup kvasir-scripting
PORT_K=$(free_port)
PORT_R=$(free_port)
while [ "$PORT_R" = "$PORT_K" ]; do PORT_R=$(free_port); done
EXTRA=()
[ -n "$THREADS" ] && EXTRA=(--worker-threads "$THREADS")
start_server kvasir "$PORT_K" "$(realpath "$KVASIR")" --port "$PORT_K" --bind 127.0.0.1 --save "" --appendonly no "${EXTRA[@]}"
start_server redis "$PORT_R" redis-server --port "$PORT_R" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize no --dir "$WORK/redis"

REPORT="$WORK/report"
{
  echo "# scripting and transactions: kvasir vs redis-server, txbench, $CLIENTS clients, ${SECONDS_PER}s per run, $ROUNDS rounds"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel=$(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "kvasir: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')${THREADS:+, --worker-threads $THREADS}"
  echo "peer: $(redis-server --version | head -1)"
  echo
  echo "raw: round,test,server,kind clients requests rps p50_us p99_us"
} | tee "$REPORT"

# run PORT TEST: the txbench lines of one run.
run() {
  local port=$1 test=$2
  redis-cli -p "$port" flushall >/dev/null
  case "$test" in
    evalsha3) "$LOAD" "$port" "$SECONDS_PER" "evalsha3:$CLIENTS" ;;
    multi3) "$LOAD" "$port" "$SECONDS_PER" "multi3:$CLIENTS" ;;
    incr) "$LOAD" "$port" "$SECONDS_PER" incr:45 ;;
    incr+slow) "$LOAD" "$port" "$SECONDS_PER" incr:45 slowscript:5 ;;
  esac
}

declare -A RPS P99
for round in $(seq 1 "$ROUNDS"); do
  for test in evalsha3 multi3 incr incr+slow; do
    order=(kvasir redis)
    [ $((round % 2)) = 0 ] && order=(redis kvasir)
    for server in "${order[@]}"; do
      port=$PORT_K
      [ "$server" = redis ] && port=$PORT_R
      while read -r kind clients requests rps p50 p99; do
        echo "$round,$test,$server,$kind $clients $requests $rps $p50 $p99" | tee -a "$REPORT"
        # The first kind of a run is the one measured (incr in incr+slow).
        if [ "$kind" = "${test%%+*}" ] || [ "$kind" = "$test" ]; then
          RPS["$test/$server"]="${RPS["$test/$server"]:-} $rps"
          P99["$test/$server"]="${P99["$test/$server"]:-} $p99"
        fi
      done < <(run "$port" "$test")
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
{
  echo
  printf "%-10s %12s %12s %8s %12s %12s\n" test kvasir_rps redis_rps ratio kvasir_p99 redis_p99
  for test in evalsha3 multi3 incr incr+slow; do
    k=$(echo "${RPS["$test/kvasir"]}" | median) r=$(echo "${RPS["$test/redis"]}" | median)
    kp=$(echo "${P99["$test/kvasir"]}" | median) rp=$(echo "${P99["$test/redis"]}" | median)
    printf "%-10s %12.0f %12.0f %8.2f %12.0f %12.0f\n" "$test" "$k" "$r" "$(echo "$k / $r" | bc -l)" "$kp" "$rp"
  done
  for server in kvasir redis; do
    base=$(echo "${RPS["incr/$server"]}" | median) busy=$(echo "${RPS["incr+slow/$server"]}" | median)
    printf "INCR throughput kept while 1 ms scripts run, %s: %.2f\n" "$server" "$(echo "$busy / $base" | bc -l)"
  done
} | tee -a "$REPORT"

if [ "$SAVE" = 1 ]; then save_report "$REPORT" scripting; fi
