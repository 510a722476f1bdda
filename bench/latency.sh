#!/usr/bin/env bash
# bench/latency.sh - the round-trip time our tunnel adds: in the namespaces of bench_tunnel_up (lib.sh), ping the
# server's tunnel address (through the tunnel) and the server's veth address (the same wire without the tunnel),
# alternating batches of 100 so drift affects both alike; reports median and p99 of each and their differences.
# Skips (exit 0 with a message) until `pptp serve --help` and `pptp connect --help` work.
#   usage: bench/latency.sh [--mode mppe128|none] [--pings N] [--run R]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mode=mppe128 pings=500 run=1
while (($#)); do
    case $1 in
        --mode) mode=$2; shift 2 ;;
        --pings) pings=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        *) bench_die "unknown option $1" ;;
    esac
done
if ! reason=$(bench_pptp_available); then
    bench_skip "tunnel latency ($mode): $reason"
    bench_result bench=latency impl=ours config="$mode" skipped="$reason"
    exit 0
fi
bench_require_root
bench_need ping:iputils-ping
bench_install_trap
bench_tunnel_up "$mode"
read -r tm tp vm vp n < <(bench_latency_pair $BENCH_CLIENT_NS $BENCH_SERVER_INNER $BENCH_SERVER_OUTER "$pings")
printf 'ours %-8s ping through the tunnel median %s us p99 %s us; over the veth median %s us p99 %s us (%s each)\n' \
    "$mode" "$tm" "$tp" "$vm" "$vp" "$n"
bench_result bench=latency impl=ours config="$mode" run="$run" median_us="$tm" p99_us="$tp" veth_median_us="$vm" \
    veth_p99_us="$vp" replies="$n"
