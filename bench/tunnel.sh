#!/usr/bin/env bash
# bench/tunnel.sh - our tunnel's throughput: `pptp serve` and `pptp connect` in two namespaces joined by a veth
# (see bench_tunnel_up in lib.sh), iperf3 from the client to the server through the tunnel; CPU-seconds per gigabit
# from /proc/<pid>/stat of both pptp processes. Skips (exit 0 with a message) until `pptp serve --help` and
# `pptp connect --help` work.
#   usage: bench/tunnel.sh [--mode mppe128|none] [--seconds N] [--tests "tcp1 tcp4 udp1400 udp64"] [--run R]
# Appends bench=throughput impl=ours config=MODE to $BENCH_RESULTS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mode=mppe128 secs=5 tests="tcp1 tcp4 udp1400 udp64" run=1
while (($#)); do
    case $1 in
        --mode) mode=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --tests) tests=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        *) bench_die "unknown option $1" ;;
    esac
done
if ! reason=$(bench_pptp_available); then
    bench_skip "tunnel throughput ($mode): $reason"
    bench_result bench=throughput impl=ours config="$mode" skipped="$reason"
    exit 0
fi
bench_require_root
bench_need iperf3:iperf3 ping:iputils-ping ss:iproute2
bench_install_trap
bench_tunnel_up "$mode"
ip netns exec $BENCH_SERVER_NS iperf3 -s >/dev/null 2>&1 & bench_track_pid $!
bench_wait_listen $BENCH_SERVER_NS 5201 || bench_die "iperf3 server did not start"

cpu() { python3 -c "print(${1:-0} + ${2:-0})"; }
for test in $tests; do
    server_before=$(bench_cpu_seconds $BENCH_SERVE_PID); client_before=$(bench_cpu_seconds $BENCH_CONNECT_PID)
    read -r bps pps lost < <(bench_iperf $BENCH_CLIENT_NS $BENCH_SERVER_INNER "$test" "$secs")
    server_after=$(bench_cpu_seconds $BENCH_SERVE_PID); client_after=$(bench_cpu_seconds $BENCH_CONNECT_PID)
    [[ -n $server_after && -n $client_after ]] || bench_die "a pptp process died during $test (see its log)"
    read -r mbps cpg server_cpg client_cpg < <(python3 -c "
bps = $bps; gbit = bps / 1e9 * $secs
s = $server_after - $server_before; c = $client_after - $client_before
f = lambda x: x / gbit if gbit > 0 else 0
print(bps / 1e6, f(s + c), f(s), f(c))")
    printf 'ours %-8s %-8s %8.1f Mbit/s %10.0f packets/s  %.2f CPU-s/Gbit (server %.2f, client %.2f; lost %s %%)\n' \
        "$mode" "$test" "$mbps" "$pps" "$cpg" "$server_cpg" "$client_cpg" "$lost"
    bench_result bench=throughput impl=ours config="$mode" test="$test" run="$run" mbps="$mbps" pps="$pps" \
        cpu_s_per_gbit="$cpg" server_cpu_s_per_gbit="$server_cpg" client_cpu_s_per_gbit="$client_cpg" lost="$lost"
done
