#!/usr/bin/env bash
# bench/veth.sh - reference: iperf3 and ping over a bare veth between two throw-away namespaces, no tunnel.
#   usage: bench/veth.sh [--seconds N] [--tests "tcp1 tcp4 udp1400 udp64"] [--pings N] [--run R]
# Namespaces pptpbench-va / pptpbench-vb, veth 198.51.100.11/24 - 198.51.100.12/24 (MTU 1500). Appends results to
# $BENCH_RESULTS (bench=throughput impl=veth, and bench=latency impl=veth) and prints one line per test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs=5 tests="tcp1 tcp4 udp1400 udp64" pings=0 run=1
while (($#)); do
    case $1 in
        --seconds) secs=$2; shift 2 ;;
        --tests) tests=$2; shift 2 ;;
        --pings) pings=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        *) bench_die "unknown option $1" ;;
    esac
done
bench_require_root
bench_need iperf3:iperf3 ping:iputils-ping ss:iproute2
bench_install_trap

A=pptpbench-va B=pptpbench-vb
for ns in $A $B; do ip netns del "$ns" 2>/dev/null || true; done  # a leftover of an interrupted run
bench_veth_pair $A $B pbveth-a pbveth-b 198.51.100.11 198.51.100.12

if [[ -n $tests ]]; then
    ip netns exec $B iperf3 -s >/dev/null 2>&1 & bench_track_pid $!
    bench_wait_listen $B 5201 || bench_die "iperf3 server did not start"
    for test in $tests; do
        read -r bps pps lost < <(bench_iperf $A 198.51.100.12 "$test" "$secs")
        printf 'veth %-8s %10.1f Mbit/s %12.0f packets/s (lost %s %%)\n' "$test" "$(python3 -c "print($bps/1e6)")" "$pps" "$lost"
        bench_result bench=throughput impl=veth test="$test" run="$run" mbps="$(python3 -c "print($bps/1e6)")" pps="$pps" lost="$lost"
    done
fi
if ((pings > 0)); then
    ip netns exec $A ping -c 3 -i 0.2 -q 198.51.100.12 >/dev/null 2>&1 || true  # ARP and caches
    rtts=$(ip netns exec $A ping -c "$pings" -i 0.002 -W 1 198.51.100.12 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | tr '\n' ' ')
    read -r median p99 count < <(python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.argv[1:])
if not v: print("nan nan 0"); sys.exit()
print(v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], len(v))' $rtts)
    printf 'veth ping  median %s us  p99 %s us  (%s replies)\n' "$median" "$p99" "$count"
    bench_result bench=latency impl=veth run="$run" median_us="$median" p99_us="$p99" replies="$count"
fi
