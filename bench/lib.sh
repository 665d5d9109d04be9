# Helpers shared by the bench scripts (sourced, not run).

# kvasir_binary BUILD: builds the release server when BUILD is 1 and sets KVASIR to its path
# (honouring CARGO_TARGET_DIR).
kvasir_binary() {
  KVASIR="${CARGO_TARGET_DIR:-target}/release/kvasir-server"
  if [ "$1" = 1 ]; then
    cargo build --release -q -p kvasir-server
  fi
  [ -x "$KVASIR" ] || { echo "no release binary at $KVASIR" >&2; exit 1; }
}

# free_port: a loopback port nothing listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# save_report REPORT NAME: copies REPORT to bench/results/<date>-NAME-<host>.txt, numbering it
# rather than overwriting an earlier report of the same day.
save_report() {
  local report=$1 name=$2 stem dest i=2
  mkdir -p bench/results
  stem="bench/results/$(date -u +%Y-%m-%d)-$name-$(hostname -s)"
  dest="$stem.txt"
  while [ -e "$dest" ]; do dest="$stem-$i.txt"; i=$((i + 1)); done
  cp "$report" "$dest"
  echo "saved to $dest"
}

# bench_setup PREFIX: makes WORK (a temporary directory) and arranges for every server started
# with start_server to be stopped, and WORK removed, when the script exits.
bench_setup() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# start_server NAME PORT CMD... : runs a server in WORK/NAME in the background and waits for
# it to answer PING (its output goes to WORK/NAME.log, shown if it does not start).
start_server() {
  local name=$1 port=$2; shift 2
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec "$@" >"$WORK/$name.log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then return; fi
    sleep 0.05
  done
  echo "$name did not start on port $port; its log:" >&2
  cat "$WORK/$name.log" >&2
  exit 1
}

# mixed_dataset SCALE KEYS OUT: writes to OUT the RESP commands of bench/rdb.sh's mixed
# dataset: 200k x SCALE strings of 100 bytes (one in ten with a TTL), 20k x SCALE hashes of 20
# fields, 10k x SCALE lists of 100 elements, sets and sorted sets of 50 members. KEYS is
# "plain" (str:<n>) or "padded" (str:<12 digits>, what redis-benchmark's __rand_int__
# produces, so a SET load overwrites the dataset's own keys).
mixed_dataset() {
  awk -v s="$1" -v padded="$([ "$2" = padded ] && echo 1 || echo 0)" 'function cmd(n, a,   i, out) {
      out = "*" n "\r\n"
      for (i = 1; i <= n; i++) out = out "$" length(a[i]) "\r\n" a[i] "\r\n"
      printf "%s", out
    }
    BEGIN {
      v100 = sprintf("%0100d", 0); gsub(/0/, "v", v100)
      for (i = 0; i < 200000 * s; i++) {
        a[1] = "SET"; a[2] = padded ? sprintf("str:%012d", i) : "str:" i; a[3] = substr(i v100, 1, 100); n = 3
        if (i % 10 == 0) { a[4] = "EX"; a[5] = "100000"; n = 5 }
        cmd(n, a)
      }
      for (i = 0; i < 20000 * s; i++) {
        a[1] = "HSET"; a[2] = "hash:" i; n = 2
        for (f = 0; f < 20; f++) { a[++n] = "field" f; a[++n] = "value-" i "-" f }
        cmd(n, a)
      }
      for (i = 0; i < 10000 * s; i++) {
        a[1] = "RPUSH"; a[2] = "list:" i; n = 2
        for (f = 0; f < 100; f++) a[++n] = "element-" f
        cmd(n, a)
        a[1] = "SADD"; a[2] = "set:" i; n = 2
        for (f = 0; f < 50; f++) a[++n] = "member-" i "-" f
        cmd(n, a)
        a[1] = "ZADD"; a[2] = "zset:" i; n = 2
        for (f = 0; f < 50; f++) { a[++n] = f * 1.5; a[++n] = "m-" f }
        cmd(n, a)
      }
    }' > "$3"
}

# info_field PORT SECTION FIELD: one INFO field's value.
info_field() { redis-cli -p "$1" INFO "$2" | tr -d '\r' | sed -n "s/^$3://p"; }

# now: the time in seconds, with nanoseconds.
now() { date +%s.%N; }
