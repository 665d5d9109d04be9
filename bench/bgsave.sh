#!/usr/bin/env bash
# BGSAVE under a write-heavy load: memory overhead, client p99 latency, snapshot speed,
# kvasir (copy-on-write of keys, no fork) against Debian's redis-server (fork).
#
#   bench/bgsave.sh [options]
#     --scale S     dataset size multiplier (default 10: about 1 GB of used_memory in
#                   redis-server, as bench/rdb.sh; 1 is about 100 MB)
#     --clients C   load clients (default 50)
#     --save        also write the report to bench/results/<date>-bgsave-<host>.txt
#     --no-build    use the existing release binary
#
# Per server, one at a time: the mixed dataset of bench/rdb.sh is loaded (its string keys
# are str:<12 digits>, what redis-benchmark's __rand_int__ produces, so the load overwrites
# them); then
#   1. idle: redis-benchmark SET str:__rand_int__ <100 bytes> over the whole string keyspace,
#      p99 and ops/s, no save;
#   2. a BGSAVE with no load: its duration and MB/s (file size / duration);
#   3. the same SET load, sized to outlast the save, with a BGSAVE started 0.3 s into it:
#      p99 and ops/s of the load, the save's duration, and the memory overhead: the peak of
#      the summed PSS (proportional set size, so pages a fork shares are counted once) of the
#      server and its children, sampled every 20 ms during the save, minus the PSS before.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=10 SAVE=0 BUILD=1 CLIENTS=50
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-server" >&2; exit 1; }
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"
bench_setup kvasir-bgsave-bench

STRINGS=$((200000 * SCALE))
mixed_dataset "$SCALE" padded "$WORK/load.resp"


# pss PID: PSS in kB of PID and its children.
pss() {
  local total=0 p v
  for p in "$1" $(pgrep -P "$1" || true); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# load PORT N: the SET load; prints "ops/s p99_ms".
load() {
  redis-benchmark -p "$1" -c "$CLIENTS" -n "$2" -r "$STRINGS" --csv \
    SET str:__rand_int__ "$(printf 'w%.0s' $(seq 1 100))" 2>/dev/null |
    tail -1 | tr -d '"' | awk -F, '{print $2, $7}'
}

# wait_save PORT PID: waits for the BGSAVE in progress to end, sampling PSS; prints
# "seconds peak_pss_kB".
wait_save() {
  local port=$1 pid=$2 t0 peak=0 v
  t0=$(now)
  while [ "$(info_field "$port" persistence rdb_bgsave_in_progress)" != 0 ]; do
    v=$(pss "$pid"); [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.02
  done
  echo "$(echo "$(now) - $t0" | bc -l) $peak"
}

run() {
  local name=$1 bin=$2 port pid used size idle save_idle n base loaded bg
  port=$(free_port)
  start_server "$name" "$port" "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK/$name"
  pid=${PIDS[-1]}
  redis-cli -p "$port" --pipe < "$WORK/load.resp" > /dev/null
  used=$(info_field "$port" memory used_memory)
  idle=$(load "$port" 300000)
  redis-cli -p "$port" BGSAVE > /dev/null
  save_idle=$(wait_save "$port" "$pid")
  size=$(stat -c %s "$WORK/$name/dump.rdb")
  # Enough requests to outlast a save: idle rate x (save time + 1 s).
  n=$(echo "${idle% *} * (${save_idle% *} + 1)" | bc -l | cut -d. -f1)
  base=$(pss "$pid")
  load "$port" "$n" > "$WORK/$name.load" &
  loaded=$!
  sleep 0.3
  redis-cli -p "$port" BGSAVE > /dev/null
  bg=$(wait_save "$port" "$pid")
  wait "$loaded"
  [ "$(info_field "$port" persistence rdb_last_bgsave_status)" = ok ] || { echo "$name: BGSAVE failed" >&2; exit 1; }
  # run is called in a subshell ($(...)): bench_cleanup does not see this server, stop it here.
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$name $used $size $idle ${save_idle% *} $(cat "$WORK/$name.load") $bg $base"
}

REPORT="$WORK/report.txt"
{
  echo "# bench/bgsave.sh --scale $SCALE --clients $CLIENTS, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo "# $("$KVASIR" --version | head -1); $(redis-server --version)"
  K=$(run kvasir "$(realpath "$KVASIR")")
  R=$(run redis "$(command -v redis-server)")
  printf "%-7s %11s %11s | %9s %8s | %8s %8s | %9s %8s %8s %8s %11s %9s\n" server used_mem rdb_bytes \
    idle_op/s idle_p99 save_s MB/s load_op/s load_p99 p99/idle bgsave_s overhead_MB overhead
  for line in "$K" "$R"; do
    set -- $line
    # name used size idle_ops idle_p99 save_idle_s load_ops load_p99 bg_s peak_kb base_kb
    printf "%-7s %11s %11s | %9.0f %8.3f | %8.2f %8.1f | %9.0f %8.3f %8.2f %8.2f %11.1f %8.1f%%\n" \
      "$1" "$2" "$3" "$4" "$5" "$6" "$(echo "$3 / 1048576 / $6" | bc -l)" "$7" "$8" \
      "$(echo "$8 / $5" | bc -l)" "$9" "$(echo "(${10} - ${11}) / 1024" | bc -l)" \
      "$(echo "(${10} - ${11}) * 1024 * 100 / $2" | bc -l)"
  done
  echo "# overhead: peak PSS of the server and its children during the loaded BGSAVE minus PSS"
  echo "# before it, in MB and as % of used_memory; p99 in ms over the whole load run."
} | tee "$REPORT"
if [ "$SAVE" = 1 ]; then save_report "$REPORT" bgsave; fi
