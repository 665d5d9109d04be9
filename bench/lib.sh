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
