#!/usr/bin/env bash
# bench/reference.sh - reference: the C data path of ../shared/reference through its own measure.sh (iperf3 TCP, one
# stream, between the namespaces pptpref-a / pptpref-b that measure.sh creates and deletes), with the CPU time of
# both pptp_toy processes sampled from /proc while it runs.
#   usage: bench/reference.sh [--seconds N] [--run R] -- PPTP_TOY_OPTIONS      e.g. -- -s -C ossl -b 32
# Appends bench=throughput impl=reference config="OPTIONS" test=tcp1 to $BENCH_RESULTS and prints one line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs=5 run=1
while (($#)); do
    case $1 in
        --seconds) secs=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        --) shift; break ;;
        *) bench_die "unknown option $1" ;;
    esac
done
options=("$@")
config=${options[*]:-stateful plain-C}
bench_require_root
bench_need gcc:gcc iperf3:iperf3 python3:python3 ping:iputils-ping /usr/include/openssl/rc4.h:libssl-dev
measure=$BENCH_REFERENCE_DIR/measure.sh
[[ -x $measure ]] || bench_die "no $measure (set BENCH_REFERENCE_DIR)"
bench_install_trap

# measure.sh uses fixed namespace names: wait for another run's to disappear rather than delete them.
for _ in $(seq 1 100); do ip netns list | grep -qE '^pptpref-(a|b)( |$)' || break; sleep 0.3; done
ip netns list | grep -qE '^pptpref-(a|b)( |$)' && bench_die "namespaces pptpref-a/b exist (another measure.sh running?)"
# Ours to delete if measure.sh is interrupted before its own trap runs.
bench_track_netns pptpref-a pptpref-b

tmp=$(mktemp -d); bench_track_tmpdir "$tmp"
"$measure" "$secs" -- "${options[@]}" >"$tmp/out" 2>"$tmp/err" & measure_pid=$!
bench_track_pid "$measure_pid"

# Sample the CPU time of the pptp_toy processes every 0.1 s while measure.sh runs; keep the last value of each.
declare -A cpu=()
while kill -0 "$measure_pid" 2>/dev/null; do
    for ns in pptpref-a pptpref-b; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pptp_toy ]] || continue
            value=$(bench_cpu_seconds "$pid"); [[ -n $value ]] && cpu[$pid]=$value
        done
    done
    sleep 0.1
done
wait "$measure_pid" || { cat "$tmp/err" >&2; bench_die "measure.sh $config failed"; }
gbps=$(sed -n 's/.*: \([0-9.]*\) Gbit\/s.*/\1/p' "$tmp/out")
[[ -n $gbps ]] || { cat "$tmp/out" "$tmp/err" >&2; bench_die "measure.sh printed no figure"; }
total=0; for pid in "${!cpu[@]}"; do total=$(python3 -c "print($total + ${cpu[$pid]})"); done
read -r mbps pps cpg < <(python3 -c "
g = $gbps; secs = $secs; cpu = $total
print(g * 1000, g * 1e9 / 8 / 1400, cpu / (g * secs) if g > 0 else 0)")
printf 'reference %-18s tcp1 %8.1f Mbit/s  %.2f CPU-s/Gbit (both ends, %s processes sampled)\n' "$config" "$mbps" "$cpg" "${#cpu[@]}"
bench_result bench=throughput impl=reference config="$config" test=tcp1 run="$run" mbps="$mbps" pps="$pps" \
    cpu_s_per_gbit="$cpg" cpu_processes="${#cpu[@]}"
