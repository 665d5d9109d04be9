#!/usr/bin/env bash
# Throughput comparison with Debian's redis-benchmark, in alternation, over several rounds.
#
#   bench/compare.sh [options]
#     --mode redis      kvasir vs Debian's redis-server (default)
#     --mode threads    kvasir --worker-threads 1 vs kvasir --worker-threads 2 (scaling)
#     --rounds N        rounds (default 3); every round runs every cell on both servers,
#                       alternating which server goes first
#     --tests LIST      tests (default set,get,incr,mset,lpush,lpop,rpop,sadd,spop,hset,
#                       zadd,zrange,lrange_100): redis-benchmark's own (mset is MSET of 10
#                       keys; lpop/rpop pop from a list pushed first with as many elements;
#                       spop pops from a set filled beforehand with as many members as the run
#                       pops; zadd adds random members to one sorted set; lrange_100 reads the
#                       first 100 of a list pushed first), plus zrange: ZRANGE of the top 10 of
#                       a 1000-member sorted set (REV WITHSCORES), loaded before each run.
#                       Not in the default set: pfadd (PFADD of random elements to one HLL),
#                       pfcount (PFCOUNT of one 100k-element HLL: the first computes and
#                       caches the count, the others read the cache), pfcount2 (PFCOUNT of the union of two
#                       100k-element HLLs: the full estimate every time), geoadd (GEOADD of
#                       random members at one position), geosearch (GEOSEARCH BYRADIUS 5 km,
#                       ASC, around a point of a 100k-member geo set spread over 4x4 degrees).
#                       Streams (not in the default set either): xadd (XADD * of 3 fields to
#                       one stream), xrange10 (XRANGE - + COUNT 10 of a 1000-entry stream),
#                       xreadgroup (XREADGROUP COUNT 1 >, one new entry per read), xack (XACK
#                       of random pending entries); bench/streams.sh runs them.
#                       Scripting (not in the default set): eval (EVAL "return 1" 0, the
#                       cost of running a script at all), evalset (EVAL of a script that SETs
#                       a random key through server.call)
#     --pipelines LIST  pipeline depths (default "1 16")
#     --clients N       parallel connections (default 50)
#     --requests N      requests per run at pipeline 1; deeper pipelines get N*8, mset N/4,
#                       lrange_100 N/4 (default 200000)
#     --keyspace N      -r: random keys out of N (default 100000)
#     --save            also write the report to bench/results/<date>-<mode>-<host>.txt
#     --no-build        use the existing release binary
#
# Both servers run without persistence (--save "" --appendonly no) on free loopback ports and
# are killed on exit, whatever the exit path. A cell whose runs fail or get error replies
# (e.g. a command kvasir does not implement yet) is reported as ERR with the first error seen;
# the other cells still run. The table reports the median requests/s of the rounds and the
# ratio A/B (kvasir/redis, or 2 threads/1 thread).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=redis ROUNDS=3 TESTS=set,get,incr,mset,lpush,lpop,rpop,sadd,spop,hset,zadd,zrange,lrange_100 PIPELINES="1 16" CLIENTS=50 REQUESTS=200000 KEYSPACE=100000
SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --keyspace) KEYSPACE=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$MODE" in redis|threads) ;; *) echo "--mode must be redis or threads" >&2; exit 2 ;; esac
for tool in redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install redis-tools" >&2; exit 1; }
done
if [ "$MODE" = redis ]; then
  command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"

bench_setup kvasir-bench

PORT_A=$(free_port)
PORT_B=$(free_port)
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B=$(free_port); done
if [ "$MODE" = redis ]; then
  NAME_A=kvasir NAME_B=redis
  start_server "$NAME_A" "$PORT_A" "$(realpath "$KVASIR")" --port "$PORT_A" --bind 127.0.0.1 --save "" --appendonly no
  start_server "$NAME_B" "$PORT_B" redis-server --port "$PORT_B" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no --dir "$WORK/$NAME_B"
else
  NAME_A=kvasir-2t NAME_B=kvasir-1t
  start_server "$NAME_A" "$PORT_A" "$(realpath "$KVASIR")" --port "$PORT_A" --bind 127.0.0.1 --save "" --appendonly no \
    --worker-threads 2
  start_server "$NAME_B" "$PORT_B" "$(realpath "$KVASIR")" --port "$PORT_B" --bind 127.0.0.1 --save "" --appendonly no \
    --worker-threads 1
fi

# fill_set PORT N: puts N members into `myset` (what redis-benchmark's SPOP pops), through
# redis-cli --pipe, so that every SPOP of the run finds a member.
fill_set() {
  local port=$1 n=$2
  awk -v n="$n" 'BEGIN {
    for (i = 0; i < n; i += 100) {
      m = (n - i < 100) ? n - i : 100
      printf "*%d\r\n$4\r\nSADD\r\n$5\r\nmyset\r\n", m + 2
      for (j = i; j < i + m; j++) { e = "element:" j; printf "$%d\r\n%s\r\n", length(e), e }
    }
  }' | redis-cli -p "$port" --pipe >/dev/null
}

# fill_hll PORT KEY N: PFADDs N distinct elements to KEY, 100 per command.
fill_hll() {
  local port=$1 key=$2 n=$3
  awk -v n="$n" -v key="$key" 'BEGIN {
    for (i = 0; i < n; i += 100) {
      printf "*102\r\n$5\r\nPFADD\r\n$%d\r\n%s\r\n", length(key), key
      for (j = i; j < i + 100; j++) { e = key ":" j; printf "$%d\r\n%s\r\n", length(e), e }
    }
  }' | redis-cli -p "$port" --pipe >/dev/null
}

# fill_geo PORT N: GEOADDs N members at pseudo-random positions in lon 12..16, lat 36..40
# (the same positions on both servers: a fixed seed).
fill_geo() {
  local port=$1 n=$2
  awk -v n="$n" 'BEGIN {
    srand(1)
    for (i = 0; i < n; i += 100) {
      printf "*302\r\n$6\r\nGEOADD\r\n$9\r\nbench:geo\r\n"
      for (j = i; j < i + 100; j++) {
        lon = sprintf("%.6f", 12 + 4 * rand()); lat = sprintf("%.6f", 36 + 4 * rand()); m = "point:" j
        printf "$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(lon), lon, length(lat), lat, length(m), m
      }
      }
    }
  }' | redis-cli -p "$port" --pipe >/dev/null
}

# fill_stream PORT KEY N: appends entries 1-0 .. N-0 (three fields each) to stream KEY through
# redis-cli --pipe.
fill_stream() {
  local port=$1 key=$2 n=$3
  awk -v n="$n" -v key="$key" 'BEGIN {
    for (i = 1; i <= n; i++) {
      id = i "-0"
      printf "*9\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(id), id
      printf "$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n$2\r\nf3\r\n$2\r\nv3\r\n"
    }
  }' | redis-cli -p "$port" --pipe >/dev/null
}

# The 1000-member sorted set the zrange test reads (scores 1..1000).
ZRANGE_ARGS=()
for i in $(seq 1 1000); do ZRANGE_ARGS+=("$i" "member:$i"); done

# One run: prints the requests/s, or "ERR <reason>".
run_one() {
  local port=$1 test=$2 pipeline=$3 n=$4 out err rps what
  out="$WORK/out" err="$WORK/err"
  redis-cli -p "$port" flushall >/dev/null
  what=(-t "$test")
  # A pop test needs something to pop: as many elements as it will pop, pushed first.
  case "$test" in
    lpop|rpop)
      timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P 16 -t lpush -q >/dev/null 2>&1 ||
        { echo "ERR could not fill the list for $test"; return; } ;;
    spop) fill_set "$port" "$n" ;;
    zrange)
      redis-cli -p "$port" ZADD bench:zrange "${ZRANGE_ARGS[@]}" >/dev/null
      what=(ZRANGE bench:zrange 0 9 REV WITHSCORES) ;;
    pfadd) what=(PFADD bench:hll element:__rand_int__) ;;
    pfcount)
      fill_hll "$port" bench:hll 100000
      what=(PFCOUNT bench:hll) ;;
    pfcount2)
      fill_hll "$port" bench:hll 100000
      fill_hll "$port" bench:hll2 100000
      what=(PFCOUNT bench:hll bench:hll2) ;;
    geoadd) what=(GEOADD bench:geo 13.361389 38.115556 member:__rand_int__) ;;
    geosearch)
      fill_geo "$port" 100000
      what=(GEOSEARCH bench:geo FROMLONLAT 14 38 BYRADIUS 5 km ASC) ;;
    eval) what=(EVAL "return 1" 0) ;;
    evalset) what=(EVAL "return redis.call('SET', KEYS[1], ARGV[1])" 1 key:__rand_int__ value) ;;
    xadd) what=(XADD bench:xadd '*' f1 v1 f2 v2 f3 v3) ;;
    xrange10)
      fill_stream "$port" bench:xrange 1000
      what=(XRANGE bench:xrange - + COUNT 10) ;;
    xreadgroup)
      # One new entry per read: as many entries as reads, and a group at the start.
      fill_stream "$port" bench:xg "$n"
      redis-cli -p "$port" XGROUP CREATE bench:xg g 0 >/dev/null
      what=(XREADGROUP GROUP g c COUNT 1 STREAMS bench:xg '>') ;;
    xack)
      # Acknowledges random pending entries (most once, some again: XACK answers 0 then).
      fill_stream "$port" bench:xg "$KEYSPACE"
      redis-cli -p "$port" XGROUP CREATE bench:xg g 0 >/dev/null
      redis-cli -p "$port" XREADGROUP GROUP g c STREAMS bench:xg '>' >/dev/null
      what=(XACK bench:xg g __rand_int__-0) ;;
  esac
  if ! timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -r "$KEYSPACE" \
      -P "$pipeline" --csv "${what[@]}" >"$out" 2>"$err"; then
    echo "ERR redis-benchmark failed: $(head -c 200 "$err" | tr '\n' ' ')"
    return
  fi
  if grep -qi "error" "$err" "$out"; then
    echo "ERR $(grep -i -h -m1 "error" "$err" "$out" | head -c 200)"
    return
  fi
  # CSV: "test","rps",... with a header line first (a test name may hold commas, never
  # `","`). LRANGE tests first report the LPUSH that filled their list ("LPUSH (needed to
  # benchmark LRANGE)"): skip it.
  rps=$(grep -v '^"test"' "$out" | grep -v 'needed to benchmark' | head -1 | awk -F'","' '{print $2}' | tr -d '"')
  if [ -z "$rps" ]; then echo "ERR no result line: $(head -c 200 "$out")"; else echo "$rps"; fi
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

REPORT="$WORK/report"
{
  echo "# kvasir benchmark, mode=$MODE"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel=$(uname -r)"
  echo "load average at start (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "kvasir: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty'), $KVASIR"
  echo "peer: $(redis-server --version 2>/dev/null | head -1)"
  echo "client: redis-benchmark -c $CLIENTS -r $KEYSPACE -n $REQUESTS (x8 when pipelined, /4 for mset), rounds=$ROUNDS"
  echo "A=$NAME_A (port $PORT_A), B=$NAME_B (port $PORT_B)"
  echo
  echo "raw: round,test,pipeline,server,rps"
} | tee "$REPORT"

declare -A RESULTS ERRORS
for round in $(seq 1 "$ROUNDS"); do
  for test in ${TESTS//,/ }; do
    for p in $PIPELINES; do
      n=$REQUESTS
      [ "$p" -gt 1 ] && n=$((REQUESTS * 8))
      # An MSET of 10 keys is about ten times the work of a SET, an LRANGE of 100 elements
      # more: keep their runs as short.
      [ "$test" = mset ] && n=$((n / 4))
      [ "$test" = lrange_100 ] && n=$((n / 4))
      # A union count or a radius query is much more work than a SET.
      [ "$test" = pfcount2 ] && n=$((n / 20))
      [ "$test" = geosearch ] && n=$((n / 4))
      order=("A" "B")
      [ $((round % 2)) = 0 ] && order=("B" "A")
      for side in "${order[@]}"; do
        if [ "$side" = A ]; then port=$PORT_A name=$NAME_A; else port=$PORT_B name=$NAME_B; fi
        r=$(run_one "$port" "$test" "$p" "$n")
        echo "$round,$test,$p,$name,$r" | tee -a "$REPORT"
        case "$r" in
          ERR*) ERRORS["$test/$p/$side"]=${ERRORS["$test/$p/$side"]:-$r} ;;
          *) RESULTS["$test/$p/$side"]="${RESULTS["$test/$p/$side"]:-} $r" ;;
        esac
      done
    done
  done
done

cell() {
  local key=$1
  if [ -n "${ERRORS[$key]:-}" ]; then echo "ERR"; return; fi
  echo ${RESULTS[$key]} | tr ' ' '\n' | median
}
{
  echo
  printf '%-8s %-9s %14s %14s %8s\n' test pipeline "$NAME_A" "$NAME_B" "A/B"
  for test in ${TESTS//,/ }; do
    for p in $PIPELINES; do
      a=$(cell "$test/$p/A") b=$(cell "$test/$p/B")
      if [ "$a" = ERR ] || [ "$b" = ERR ]; then ratio=-; else ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}'); fi
      printf '%-8s %-9s %14s %14s %8s\n' "$test" "$p" "$a" "$b" "$ratio"
    done
  done
  for key in "${!ERRORS[@]}"; do echo "error in $key: ${ERRORS[$key]}"; done | sort
  echo "load average at end (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$REPORT"

if [ "$SAVE" = 1 ]; then
  save_report "$REPORT" "$MODE"
fi
