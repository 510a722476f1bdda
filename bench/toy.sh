#!/usr/bin/env bash
# bench/toy.sh - reference: the C data path of ../shared/reference/pptp_toy.c (compiled into a temporary directory
# from there, not copied into the repository) in the same topology as its measure.sh, for the tests measure.sh does
# not run: iperf3 TCP with 4 streams, UDP at 1400- and 64-byte packets, and ping through the tunnel and over the
# veth beneath it (as bench/latency.sh does for ours).
#   usage: bench/toy.sh [--seconds N] [--tests "tcp4 udp1400 udp64"] [--pings N] [--run R] -- PPTP_TOY_OPTIONS
# Namespaces pptpbench-ta / pptpbench-tb, veth 198.51.100.31/24 - .32, tunnel 192.0.2.1 - 192.0.2.2, MTU 1400.
# Appends impl=reference results to $BENCH_RESULTS (throughput with CPU-s/Gbit of both pptp_toy processes; latency).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs=5 tests="tcp4 udp1400 udp64" pings=0 run=1
while (($#)); do
    case $1 in
        --seconds) secs=$2; shift 2 ;;
        --tests) tests=$2; shift 2 ;;
        --pings) pings=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        --) shift; break ;;
        *) bench_die "unknown option $1" ;;
    esac
done
options=("$@")
config=${options[*]:-stateful plain-C}
bench_require_root
bench_need gcc:gcc iperf3:iperf3 ping:iputils-ping ss:iproute2 /usr/include/openssl/rc4.h:libssl-dev
bench_install_trap
tmp=$(mktemp -d); bench_track_tmpdir "$tmp"
gcc -O2 -Wall -pthread -o "$tmp/pptp_toy" "$BENCH_REFERENCE_DIR/pptp_toy.c" -lcrypto

A=pptpbench-ta B=pptpbench-tb
for ns in $A $B; do ip netns del "$ns" 2>/dev/null || true; done
bench_veth_pair $A $B pbtoy-a pbtoy-b 198.51.100.31 198.51.100.32
for side in "$A tunA 192.0.2.1 192.0.2.2" "$B tunB 192.0.2.2 192.0.2.1"; do
    set -- $side
    ip netns exec "$1" ip tuntap add mode tun dev "$2"
    ip netns exec "$1" ip addr add "$3" peer "$4" dev "$2"
    ip netns exec "$1" ip link set "$2" mtu 1400 up
done
ip netns exec $A "$tmp/pptp_toy" -t tunA -l 198.51.100.31 -r 198.51.100.32 -R a "${options[@]}" >/dev/null & toy_a=$!
ip netns exec $B "$tmp/pptp_toy" -t tunB -l 198.51.100.32 -r 198.51.100.31 -R b "${options[@]}" >/dev/null & toy_b=$!
bench_track_pid $toy_a $toy_b
ip netns exec $B iperf3 -s >/dev/null 2>&1 & bench_track_pid $!
bench_wait_listen $B 5201 || bench_die "iperf3 server did not start"
ip netns exec $A ping -c 2 -i 0.2 -W 1 192.0.2.2 >/dev/null || bench_die "no ping through the C reference tunnel"

cpu() { python3 -c "print(${1:-0} + ${2:-0})"; }
for test in $tests; do
    before=$(cpu "$(bench_cpu_seconds $toy_a)" "$(bench_cpu_seconds $toy_b)")
    read -r bps pps lost < <(bench_iperf $A 192.0.2.2 "$test" "$secs")
    after=$(cpu "$(bench_cpu_seconds $toy_a)" "$(bench_cpu_seconds $toy_b)")
    read -r mbps cpg < <(python3 -c "
bps = $bps; cpu = $after - $before
print(bps / 1e6, cpu / (bps / 1e9 * $secs) if bps > 0 else 0)")
    printf 'reference %-18s %-8s %8.1f Mbit/s %10.0f packets/s  %.2f CPU-s/Gbit (lost %s %%)\n' "$config" "$test" "$mbps" "$pps" "$cpg" "$lost"
    bench_result bench=throughput impl=reference config="$config" test="$test" run="$run" mbps="$mbps" pps="$pps" \
        cpu_s_per_gbit="$cpg" lost="$lost"
done
if ((pings > 0)); then
    read -r tm tp vm vp n < <(bench_latency_pair $A 192.0.2.2 198.51.100.32 "$pings")
    printf 'reference %-18s ping through the tunnel median %s us p99 %s us; over the veth median %s us p99 %s us (%s each)\n' \
        "$config" "$tm" "$tp" "$vm" "$vp" "$n"
    bench_result bench=latency impl=reference config="$config" run="$run" median_us="$tm" p99_us="$tp" \
        veth_median_us="$vm" veth_p99_us="$vp" replies="$n"
fi
