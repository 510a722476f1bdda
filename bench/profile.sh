#!/usr/bin/env bash
# bench/profile.sh - where our tunnel spends its CPU: brings the tunnel up as bench/tunnel.sh does, runs iperf3 through
# it and records both `pptp serve` and `pptp connect` with `perf record -g`, then prints the top symbols of each.
#   usage: bench/profile.sh [--mode mppe128|none] [--seconds N] [--test tcp1|tcp4|udp1400|udp64] [--out DIR]
# The perf.data files stay in DIR (default: a new directory under /tmp) for `perf report -i`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mode=mppe128 secs=10 test=tcp1 out=""
while (($#)); do
    case $1 in
        --mode) mode=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --test) test=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) bench_die "unknown option $1" ;;
    esac
done
reason=$(bench_pptp_available) || bench_die "$reason"
bench_require_root
bench_need perf:linux-perf iperf3:iperf3
bench_install_trap
out=${out:-$(mktemp -d /tmp/pptp-profile.XXXXXX)}; mkdir -p "$out"
bench_tunnel_up "$mode"
ip netns exec $BENCH_SERVER_NS iperf3 -s >/dev/null 2>&1 & bench_track_pid $!
bench_wait_listen $BENCH_SERVER_NS 5201 || bench_die "iperf3 server did not start"
perf record -g -o "$out/serve.data" -p $BENCH_SERVE_PID -- sleep $((secs + 1)) >/dev/null 2>&1 & serve_perf=$!
perf record -g -o "$out/connect.data" -p $BENCH_CONNECT_PID -- sleep $((secs + 1)) >/dev/null 2>&1 & connect_perf=$!
bench_track_pid $serve_perf $connect_perf
read -r bps pps lost < <(bench_iperf $BENCH_CLIENT_NS $BENCH_SERVER_INNER "$test" "$secs")
wait $serve_perf $connect_perf || true
printf 'ours %s %s: %.1f Mbit/s while recorded\n' "$mode" "$test" "$(python3 -c "print($bps/1e6)")"
for side in serve connect; do
    echo "== pptp $side: top symbols (self time)"
    perf report -i "$out/$side.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -30 | cut -c1-160 || true
done
echo "perf data: $out"
