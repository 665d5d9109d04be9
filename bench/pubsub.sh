#!/usr/bin/env bash
# Pub/Sub throughput and latency, kvasir vs redis-server, side by side.
#
#   bench/pubsub.sh [--rounds N] [--subscribers "1 100 1000"] [--size 64] [--save] [--no-build]
#
# For each subscriber count, one publisher and that many subscribers on their own connections
# (crates/server/examples/pubsub_load.rs): deliveries per second while the publisher pipelines
# PUBLISH as fast as the server takes it, then publish-to-receive latency (p50, p99) at a
# fixed pace the machine can sustain. Each round runs every cell on both servers, alternating
# which goes first; the table gives medians over the rounds and the kvasir/redis ratios
# (throughput: higher is better; latency: lower is better).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 SUBSCRIBERS="1 100 1000" SIZE=64 SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --subscribers) SUBSCRIBERS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
kvasir_binary "$BUILD"
if [ "$BUILD" = 1 ]; then cargo build --release -q -p kvasir-server --example pubsub_load; fi
LOAD="${CARGO_TARGET_DIR:-target}/release/examples/pubsub_load"
[ -x "$LOAD" ] || { echo "no load generator at $LOAD" >&2; exit 1; }

bench_setup kvasir-pubsub
PORT_K=$(free_port)
PORT_R=$(free_port)
while [ "$PORT_R" = "$PORT_K" ]; do PORT_R=$(free_port); done
# Both servers get room for 1000+ subscribers.
start_server kvasir "$PORT_K" "$(realpath "$KVASIR")" --port "$PORT_K" --bind 127.0.0.1 --save "" --appendonly no \
  --maxclients 4000
start_server redis "$PORT_R" redis-server --port "$PORT_R" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize no --dir "$WORK/redis" --maxclients 4000
ulimit -n 8192 2>/dev/null || true

REPORT="$WORK/report"
{
  echo "# pub/sub: one publisher, N subscribers, $SIZE-byte messages"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel=$(uname -r)"
  echo "kvasir: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
  echo "peer: $(redis-server --version | head -1)"
  echo "load average at start (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rounds: $ROUNDS (alternating order)"
  echo
  echo "round,subscribers,server,deliveries_per_sec,p50_us,p99_us"
} >"$REPORT"

for round in $(seq 1 "$ROUNDS"); do
  for n in $SUBSCRIBERS; do
    # About two million deliveries per throughput run.
    messages=$((2000000 / n)); [ "$messages" -lt 2000 ] && messages=2000
    if [ $((round % 2)) = 1 ]; then order="kvasir redis"; else order="redis kvasir"; fi
    for server in $order; do
      port=$PORT_K; [ "$server" = redis ] && port=$PORT_R
      line=$("$LOAD" "$port" "$n" "$messages" "$SIZE")
      echo "$round,$n,$server,${line// /,}" | tee -a "$REPORT"
    done
  done
done

{
  echo
  awk -F, '
    NR > 1 && $1 ~ /^[0-9]+$/ { key = $2 SUBSEP $3; n[key]++; tp[key, n[key]] = $4; p50[key, n[key]] = $5; p99[key, n[key]] = $6; subs[$2] = 1 }
    function median(arr, key, cnt,   v, i, j, t) {
      for (i = 1; i <= cnt; i++) v[i] = arr[key, i] + 0
      for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
    }
    END {
      printf "%-12s %16s %16s %7s %10s %10s %7s\n", "subscribers", "kvasir deliv/s", "redis deliv/s", "ratio", "kv p99 us", "rd p99 us", "ratio"
      for (s in subs) {
        k = s SUBSEP "kvasir"; r = s SUBSEP "redis"
        tk = median(tp, k, n[k]); tr = median(tp, r, n[r])
        lk = median(p99, k, n[k]); lr = median(p99, r, n[r])
        printf "%-12s %16.0f %16.0f %7.2f %10.0f %10.0f %7.2f\n", s, tk, tr, tk / tr, lk, lr, lk / lr
      }
    }' "$REPORT" | sort -n
} | tee -a "$REPORT"

if [ "$SAVE" = 1 ]; then save_report "$REPORT" pubsub; fi
