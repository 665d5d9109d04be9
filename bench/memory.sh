#!/usr/bin/env bash
# Memory comparison: loads the same hashes (or sorted sets) into kvasir and into Debian's
# redis-server and reports each server's resident memory after the load.
#
#   bench/memory.sh [options]
#     --type T      hash (default), zset, or stream (one stream of --keys entries with
#                   --fields fields each, IDs 1-0, 2-0 ...)
#     --keys N      keys to load (default 100000)
#     --fields F    fields per hash or members per sorted set (default 10); hash fields f0,
#                   f1 ... with values v<number>, sorted set members m0, m1 ... with integer
#                   scores (short, so every key is a listpack in both servers)
#     --save        also write the report to bench/results/<date>-memory-<host>.txt
#     --no-build    use the existing release binary
#
# Each server is started fresh, alone, without persistence (--save "" --appendonly no), on a
# free loopback port; its RSS is read from /proc/<pid>/status (VmRSS) before and after the
# load (after a short settle), next to INFO memory's used_memory and used_memory_rss. The load
# goes through redis-cli --pipe from one pre-generated protocol file, so both servers receive
# the same bytes. Servers are killed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

TYPE=hash KEYS=100000 FIELDS=10 SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --type) TYPE=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --fields) FIELDS=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-server" >&2; exit 1; }
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"

bench_setup kvasir-memory


# The load, as RESP: HSET hash:<i> f0 v<..> f1 v<..> ... or ZADD zset:<i> <score> m0 ...
case "$TYPE" in
  hash) CMD=HSET ;;
  zset) CMD=ZADD ;;
  stream) CMD=XADD ;;
  *) echo "unknown type $TYPE (hash, zset or stream)" >&2; exit 2 ;;
esac
awk -v n="$KEYS" -v f="$FIELDS" -v type="$TYPE" -v cmd="$CMD" 'BEGIN {
  for (i = 0; i < n; i++) {
    key = type ":" i
    if (type == "stream") {
      key = "stream:0"; id = (i + 1) "-0"
      printf "*%d\r\n$4\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", 3 + 2 * f, cmd, length(key), key, length(id), id
    } else
    printf "*%d\r\n$4\r\n%s\r\n$%d\r\n%s\r\n", 2 + 2 * f, cmd, length(key), key
    for (j = 0; j < f; j++) {
      if (type == "hash" || type == "stream") { a = "f" j; b = "v" ((i * f + j) % 100000) }
      else { a = (i * f + j) % 100000; b = "m" j }
      printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(a), a, length(b), b
    }
  }
}' >"$WORK/load.resp"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
info_field() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }

REPORT="$WORK/report"
{
  echo "# kvasir memory comparison: $KEYS keys of type $TYPE with $FIELDS fields/members each"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), kernel=$(uname -r)"
  echo "kvasir: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty'), $KVASIR"
  echo "peer: $(redis-server --version | head -1)"
  echo "load: $(wc -c <"$WORK/load.resp") bytes of $CMD commands through redis-cli --pipe"
  echo
  printf '%-8s %12s %12s %12s %14s %14s %10s\n' server rss_before rss_after rss_delta used_memory used_mem_rss bytes/key
} | tee "$REPORT"

declare -A AFTER DELTA
measure() {
  local name=$1; shift
  local port; port=$(free_port)
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec "$@" --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/$name.log" 2>&1) &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 200); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.05
  done
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] || { echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  sleep 0.5
  local before; before=$(rss_kb "$PID")
  redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/$name.pipe" 2>&1
  grep -q "errors: 0" "$WORK/$name.pipe" || { echo "$name: load failed:" >&2; cat "$WORK/$name.pipe" >&2; exit 1; }
  local n; n=$(redis-cli -p "$port" dbsize)
  local want=$KEYS
  [ "$TYPE" = stream ] && want=1
  [ "$n" = "$want" ] || { echo "$name holds $n keys, not $want" >&2; exit 1; }
  sleep 1
  local after; after=$(rss_kb "$PID")
  local used rss; used=$(info_field "$port" used_memory) rss=$(info_field "$port" used_memory_rss)
  local delta=$((after - before))
  printf '%-8s %10s k %10s k %10s k %14s %14s %10s\n' "$name" "$before" "$after" "$delta" "${used:-?}" "${rss:-?}" \
    "$((delta * 1024 / KEYS))" | tee -a "$REPORT"
  AFTER[$name]=$after DELTA[$name]=$delta
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

measure kvasir "$(realpath "$KVASIR")"
measure redis redis-server --daemonize no
{
  echo
  awk -v a="${AFTER[kvasir]}" -v b="${AFTER[redis]}" 'BEGIN {printf "RSS after load, kvasir/redis: %.2f\n", a / b}'
  awk -v a="${DELTA[kvasir]}" -v b="${DELTA[redis]}" 'BEGIN {printf "RSS growth from the load, kvasir/redis: %.2f\n", a / b}'
} | tee -a "$REPORT"

if [ "$SAVE" = 1 ]; then
  save_report "$REPORT" "memory-$TYPE"
fi
