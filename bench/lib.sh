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
