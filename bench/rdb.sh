#!/usr/bin/env bash
# RDB save and load speed: the same mixed dataset (strings, hashes, lists, sets, sorted sets,
# some with TTLs) is loaded into kvasir and into Debian's redis-server, one server at a time;
# each then SAVEs (timed from the client), and is restarted on its own file (load time read
# from the server's "DB loaded from disk: X seconds" log line).
#
# A BGSAVE (no load) is timed too, from the command until INFO shows it over.
#
#   bench/rdb.sh [options]
#     --scale S     dataset size multiplier (default 10: about 1 GB of used_memory in
#                   redis-server; 1 is about 100 MB)
#     --save        also write the report to bench/results/<date>-rdb-<host>.txt
#     --no-build    use the existing release binary
#
# Both servers run with their defaults otherwise (rdbcompression yes, rdbchecksum yes). The
# dataset goes in through redis-cli --pipe from one generated protocol file, so both servers
# receive the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=10 SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-server" >&2; exit 1; }
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"

bench_setup kvasir-rdb-bench
PID=""
stop() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi
}

# Per scale unit: 200k strings (100 bytes), 20k hashes of 20 fields, 10k lists of 100
# elements, 10k sets of 50 members, 10k sorted sets of 50 members; 10% of keys with a TTL.
mixed_dataset "$SCALE" plain "$WORK/load.resp"

wait_ping() {
  local port=$1
  for _ in $(seq 1 6000); do
    if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.05
  done
  echo "server on $port did not answer" >&2
  exit 1
}


# run NAME BINARY: fills the server, SAVEs, restarts it on its file; prints one report line.
run() {
  local name=$1 bin=$2 dir="$WORK/$1" port used keys t0 t1 save_s bgsave_s size load_s
  mkdir -p "$dir"
  port=$(free_port)
  "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/server.log" &
  PID=$!
  PIDS+=("$PID")
  wait_ping "$port"
  redis-cli -p "$port" --pipe < "$WORK/load.resp" > /dev/null
  used=$(info_field "$port" memory used_memory)
  keys=$(redis-cli -p "$port" DBSIZE)
  t0=$(now)
  redis-cli -p "$port" SAVE > /dev/null
  t1=$(now)
  save_s=$(echo "$t1 - $t0" | bc -l)
  size=$(stat -c %s "$dir/dump.rdb")
  # BGSAVE with no load: from the command to rdb_bgsave_in_progress:0 (polled every 10 ms).
  t0=$(now)
  redis-cli -p "$port" BGSAVE > /dev/null
  while [ "$(info_field "$port" persistence rdb_bgsave_in_progress)" != 0 ]; do sleep 0.01; done
  t1=$(now)
  bgsave_s=$(echo "$t1 - $t0" | bc -l)
  [ "$(info_field "$port" persistence rdb_last_bgsave_status)" = ok ] || { echo "$name: BGSAVE failed" >&2; exit 1; }
  redis-cli -p "$port" SHUTDOWN NOSAVE > /dev/null 2>&1 || true
  wait "$PID" 2>/dev/null || true
  PID=""
  port=$(free_port)
  "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/server2.log" &
  PID=$!
  PIDS+=("$PID")
  wait_ping "$port"
  load_s=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$dir/server2.log")
  [ "$(redis-cli -p "$port" DBSIZE)" = "$keys" ] || { echo "$name: key count differs after load" >&2; exit 1; }
  stop
  echo "$name $keys $used $size $save_s $load_s $bgsave_s"
}

REPORT="$WORK/report.txt"
{
  echo "# bench/rdb.sh --scale $SCALE, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  echo "# $("$KVASIR" --version | head -1); $(redis-server --version)"
  K=$(run kvasir "$KVASIR")
  R=$(run redis "$(command -v redis-server)")
  printf "%-8s %10s %14s %14s %9s %9s %9s %10s %10s\n" server keys used_memory rdb_bytes save_s bgsave_s \
    load_s save_MB/s load_MB/s
  for line in "$K" "$R"; do
    set -- $line
    printf "%-8s %10s %14s %14s %9.3f %9.3f %9.3f %10.1f %10.1f\n" "$1" "$2" "$3" "$4" "$5" "$7" "$6" \
      "$(echo "$4 / 1048576 / $5" | bc -l)" "$(echo "$4 / 1048576 / $6" | bc -l)"
  done
  set -- $K; ks=$5 kl=$6 kb=$7
  set -- $R; rs=$5 rl=$6 rb=$7
  printf "ratio kvasir/redis (time; <1 is faster): save %.2f, bgsave %.2f, load %.2f\n" \
    "$(echo "$ks / $rs" | bc -l)" "$(echo "$kb / $rb" | bc -l)" "$(echo "$kl / $rl" | bc -l)"
  echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$REPORT"
if [ "$SAVE" = 1 ]; then save_report "$REPORT" rdb; fi
