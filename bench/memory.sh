#!/usr/bin/env bash
# Memory comparison: loads the same dataset into kvasir and into Debian's redis-server (and,
# with --valkey, into a Valkey build) and reports each server's resident memory after the load.
#
#   bench/memory.sh [options]
#     --type T      the dataset (default hash):
#                     string      KEYS string keys of 16 bytes with 32-byte values (SET)
#                     string-ttl  the same, each with a TTL (SET ... EX)
#                     int         KEYS string keys of 16 bytes holding integers (SET)
#                     hash        KEYS hashes of FIELDS fields f0, f1 ... with values v<number>
#                     zset        KEYS sorted sets of FIELDS members m0, m1 ... (integer scores)
#                     list        one list of KEYS items (short strings), RPUSH 1000 at a time
#                     stream      one stream of KEYS entries of FIELDS fields (IDs 1-0, 2-0 ...)
#                   (the collections are short enough to be listpacks in every server)
#     --all         every dataset of issue 7 in turn: string, string-ttl and int with 1M keys,
#                   hash and zset with 100k keys, list with 10M items (--keys is ignored)
#     --keys N      keys (or items, for list and stream) to load (default 100000)
#     --fields F    fields per hash or stream entry, members per sorted set (default 10)
#     --valkey BIN  also measure this valkey-server (e.g. Valkey 8.0.1 built from source)
#     --save        also write the report to bench/results/<date>-memory-<host>.txt
#     --no-build    use the existing release binary
#
# Each server is started fresh, alone, without persistence (--save "" --appendonly no), on a
# free loopback port; its RSS is read from /proc/<pid>/status (VmRSS) before and after the
# load (after a short settle), next to INFO memory's used_memory and used_memory_rss. The load
# goes through redis-cli --pipe from one pre-generated protocol file, so every server receives
# the same bytes. Servers are killed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

TYPE=hash KEYS=100000 FIELDS=10 SAVE=0 BUILD=1 ALL=0 VALKEY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --type) TYPE=$2; shift 2 ;;
    --all) ALL=1; shift ;;
    --keys) KEYS=$2; shift 2 ;;
    --fields) FIELDS=$2; shift 2 ;;
    --valkey) VALKEY=$(realpath "$2"); shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
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

# gen TYPE KEYS FIELDS: the dataset as RESP commands on stdout.
gen() {
  awk -v type="$1" -v n="$2" -v f="$3" '
  function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
  BEGIN {
    if (type == "list") {
      for (i = 0; i < n; i += 1000) {
        m = (n - i < 1000) ? n - i : 1000
        printf "*%d\r\n", 2 + m; bulk("RPUSH"); bulk("list:0")
        for (j = 0; j < m; j++) bulk("item:" (i + j) % 100000)
      }
      exit
    }
    for (i = 0; i < n; i++) {
      if (type == "string" || type == "string-ttl" || type == "int") {
        key = sprintf("key:%012d", i)
        if (type == "int") val = sprintf("%d", 1000000007 + i * 7919)
        else val = sprintf("value:%026d", i)
        if (type == "string-ttl") { printf "*5\r\n"; bulk("SET"); bulk(key); bulk(val); bulk("EX"); bulk(100000 + i % 1000) }
        else { printf "*3\r\n"; bulk("SET"); bulk(key); bulk(val) }
      } else if (type == "stream") {
        printf "*%d\r\n", 3 + 2 * f; bulk("XADD"); bulk("stream:0"); bulk((i + 1) "-0")
        for (j = 0; j < f; j++) { bulk("f" j); bulk("v" ((i * f + j) % 100000)) }
      } else {
        printf "*%d\r\n", 2 + 2 * f; bulk(type == "hash" ? "HSET" : "ZADD"); bulk(type ":" i)
        for (j = 0; j < f; j++) {
          if (type == "hash") { bulk("f" j); bulk("v" ((i * f + j) % 100000)) }
          else { bulk((i * f + j) % 100000); bulk("m" j) }
        }
      }
    }
  }'
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
info_field() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }

REPORT="$WORK/report"
{
  echo "# kvasir memory comparison"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), kernel=$(uname -r)"
  echo "kvasir: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty'), $KVASIR"
  echo "redis: $(redis-server --version | head -1)"
  [ -z "$VALKEY" ] || echo "valkey: $("$VALKEY" --version | head -1), $VALKEY"
} | tee "$REPORT"

declare -A AFTER DELTA
# measure NAME CMD...: starts the server, loads WORK/load.resp, records its RSS after the load.
measure() {
  local name=$1; shift
  local port; port=$(free_port)
  start_server "$name" "$port" "$@" --port "$port" --bind 127.0.0.1 --save "" --appendonly no
  local pid=${PIDS[-1]}
  sleep 0.5
  local before; before=$(rss_kb "$pid")
  redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/$name.pipe" 2>&1
  grep -q "errors: 0" "$WORK/$name.pipe" || { echo "$name: load failed:" >&2; cat "$WORK/$name.pipe" >&2; exit 1; }
  local n; n=$(redis-cli -p "$port" dbsize)
  [ "$n" = "$WANT" ] || { echo "$name holds $n keys, not $WANT" >&2; exit 1; }
  sleep 1
  local after; after=$(rss_kb "$pid")
  local used rss; used=$(info_field "$port" used_memory) rss=$(info_field "$port" used_memory_rss)
  local delta=$((after - before))
  printf '%-8s %10s k %10s k %10s k %14s %14s %10s\n' "$name" "$before" "$after" "$delta" "${used:-?}" "${rss:-?}" \
    "$((delta * 1024 / N))" | tee -a "$REPORT"
  AFTER[$name]=$after DELTA[$name]=$delta
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# dataset TYPE N: one comparison.
dataset() {
  local type=$1
  N=$2 WANT=$2
  case "$type" in list|stream) WANT=1 ;; esac
  gen "$type" "$N" "$FIELDS" >"$WORK/load.resp"
  {
    echo
    echo "## $type: $N $( [ "$type" = list ] && echo items || echo keys)$(case "$type" in hash|zset|stream) echo " of $FIELDS fields/members" ;; esac)"
    echo "load: $(wc -c <"$WORK/load.resp") bytes through redis-cli --pipe"
    printf '%-8s %12s %12s %12s %14s %14s %10s\n' server rss_before rss_after rss_delta used_memory used_mem_rss bytes/item
  } | tee -a "$REPORT"
  measure kvasir "$(realpath "$KVASIR")"
  measure redis redis-server --daemonize no
  [ -z "$VALKEY" ] || measure valkey "$VALKEY" --daemonize no
  {
    awk -v a="${AFTER[kvasir]}" -v b="${AFTER[redis]}" -v c="${DELTA[kvasir]}" -v d="${DELTA[redis]}" \
      'BEGIN {printf "kvasir/redis: RSS after load %.2f, growth %.2f\n", a / b, c / d}'
    [ -z "$VALKEY" ] || awk -v a="${AFTER[kvasir]}" -v b="${AFTER[valkey]}" -v c="${DELTA[kvasir]}" -v d="${DELTA[valkey]}" \
      'BEGIN {printf "kvasir/valkey: RSS after load %.2f, growth %.2f\n", a / b, c / d}'
  } | tee -a "$REPORT"
  SUMMARY+=("$(printf '%-11s %9s' "$type" "$N") $(awk -v a="${AFTER[kvasir]}" -v b="${AFTER[redis]}" 'BEGIN {printf "%6.2f", a / b}')$( [ -z "$VALKEY" ] || awk -v a="${AFTER[kvasir]}" -v b="${AFTER[valkey]}" 'BEGIN {printf " %6.2f", a / b}')")
}

SUMMARY=()
if [ "$ALL" = 1 ]; then
  dataset string 1000000
  dataset string-ttl 1000000
  dataset int 1000000
  dataset hash 100000
  dataset zset 100000
  dataset list 10000000
else
  dataset "$TYPE" "$KEYS"
fi
{
  echo
  echo "## RSS after load, kvasir/redis$( [ -z "$VALKEY" ] || echo ' and kvasir/valkey')"
  printf '%s\n' "${SUMMARY[@]}"
} | tee -a "$REPORT"

if [ "$SAVE" = 1 ]; then
  save_report "$REPORT" "memory"
fi
