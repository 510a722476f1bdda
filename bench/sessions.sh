#!/usr/bin/env bash
# bench/sessions.sh - many sessions in one `pptp serve`: set-up rate, server RSS per idle session, idle CPU with LCP
# echo keepalives, for N sessions with MS-CHAPv2 + MPPE-128 (issue 8, benchmark 3).
#   usage: bench/sessions.sh [--sessions "1000 10000 100000"] [--rounds "5 5 1"] [--idle SECONDS] [--sources K]
#                            [--concurrency C] [--calls-per-connection K|auto] [--keep-logs DIR] [--perf DIR]
#
# --perf DIR records the server with `perf record -g` over the idle window of each run (DIR/serve-N-RUN.data, for
# `perf report -i`); the idle CPU figure of such a run includes perf's own overhead.
#
# --rounds gives the number of runs for each count of --sessions (one number: the same for all). Each run starts a
# fresh `pptp serve` (so RSS at 0 is measured in the same run) and a fresh load generator.
#
# The load generator (Benchmarks/.build/release/SessionLoadGenerator, or $BENCH_LOADGEN) runs our client engines for
# many sessions in one process (one epoll thread; see `SessionLoadGenerator --help`):
#     LOADGEN --server ADDRESS --user U --password-file F --sessions N --source ADDRESS [--source ADDRESS ...]
# It prints "up N SECONDS" once all N sessions are up (TCP, SCCRQ, OCRQ, LCP, MS-CHAPv2, CCP with MPPE-128, IPCP), or
# "failed K REASON", then holds them (answering the server's LCP and PPTP echoes) until SIGTERM.
#
# One control connection (TCP) per session, as Windows and pptp-linux place one call per connection, as long as the
# open-file limit allows: each process here may hold at most `ulimit -Hn` descriptors, and raising the hard limit needs
# CAP_SYS_RESOURCE, which this machine's root does not have (hard limit 20 000). Beyond that, `auto` (the default)
# places K = ceil(N / (limit - 2000)) calls on each control connection (RFC 2637 §3.2: a control connection carries
# any number of calls), so that the server holds N sessions over N / K TCP connections; the result records K.
#
# Addresses (documentation ranges only, RFC 5737): namespaces pptpbench-srv (203.0.113.1) and pptpbench-cli
# (203.0.113.2 and K more source addresses from 203.0.113.100, 50 by default) joined by a veth. The server's tunnel
# address is 198.51.100.1 and its pool 198.51.100.10-198.51.100.250 with `[tunnel] overcommit = true`: beyond 241
# sessions client addresses are handed out again (a load-test setting; no traffic goes through the tunnels here).
# Each source address carries N / (K + 1) sessions, so Call IDs repeat across peer addresses and the server
# demultiplexes GRE by (peer address, Call ID); one address could carry at most 65 535 calls and about 28 000 TCP
# connections to port 1723.
#
# Measured per run: set-up rate (N ÷ the time from the first connect to the last IPCP up, as the load generator
# reports it), server RSS per idle session ((VmRSS at N − VmRSS at 0) ÷ N, from /proc/PID/status, 3 s after the last
# session came up), the packets per second through the server's veth (both directions), and the server's CPU (user +
# system, all threads, from /proc/PID/stat) over --idle seconds of
# idle sessions (the server sends an LCP Echo-Request every 30 s per session, and a PPTP Echo-Request after 60 s idle
# on each control connection; the load generator answers, and sends neither of its own).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
counts="1000 10000 100000" rounds_list="1" idle=30 source_count=50 concurrency=500 keep_logs="" per_connection=auto perf_dir=""
BENCH_LOADGEN=${BENCH_LOADGEN:-$BENCH_ROOT/Benchmarks/.build/release/SessionLoadGenerator}
while (($#)); do
    case $1 in
        --sessions) counts=$2; shift 2 ;;
        --rounds) rounds_list=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --sources) source_count=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --keep-logs) keep_logs=$2; shift 2 ;;
        --perf) perf_dir=$2; shift 2 ;;
        --calls-per-connection) per_connection=$2; shift 2 ;;
        --run) shift 2 ;;  # accepted for compatibility; runs are numbered here
        *) bench_die "unknown option $1" ;;
    esac
done
((source_count >= 1 && source_count <= 150)) || bench_die "--sources must be 1-150"
if ! reason=$(bench_pptp_available); then
    bench_skip "sessions: $reason"; bench_result bench=sessions impl=ours skipped="$reason"; exit 0
fi
if [[ ! -x $BENCH_LOADGEN ]] || ! "$BENCH_LOADGEN" --help >/dev/null 2>&1; then
    reason="no session load generator at $BENCH_LOADGEN (swift build -c release --package-path Benchmarks --product SessionLoadGenerator)"
    bench_skip "sessions: $reason"; bench_result bench=sessions impl=ours skipped="$reason"; exit 0
fi
bench_require_root
bench_install_trap
# Both processes raise their own soft limit to the hard one; make the hard one large enough.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n 1048576 2>/dev/null || true
[[ -n $keep_logs ]] && mkdir -p "$keep_logs"
if [[ -n $perf_dir ]]; then mkdir -p "$perf_dir"; bench_need perf:linux-perf; fi

# Packets through the server's veth, both directions (GRE and TCP alike).
wire_packets() {
    ip netns exec $BENCH_SERVER_NS sh -c 'echo $(( $(cat /sys/class/net/pbsrv/statistics/rx_packets) + $(cat /sys/class/net/pbsrv/statistics/tx_packets) ))'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
read -r -a count_array <<<"$counts"
read -r -a rounds_array <<<"$rounds_list"

# One run: N sessions, run number R. Prints a line and appends a result.
run_once() {
    local n=$1 run=$2 dir sources i serve loadgen limit line setup_seconds rss0 rss_n cpu_before cpu_after
    local lg_before lg_after lost k files
    dir=$(mktemp -d); bench_track_tmpdir "$dir"
    for ns in $BENCH_SERVER_NS $BENCH_CLIENT_NS; do ip netns del "$ns" 2>/dev/null || true; done
    bench_veth_pair $BENCH_SERVER_NS $BENCH_CLIENT_NS pbsrv pbcli $BENCH_SERVER_OUTER $BENCH_CLIENT_OUTER
    sources=(--source $BENCH_CLIENT_OUTER)
    for ((i = 100; i < 100 + source_count; i++)); do
        ip -n $BENCH_CLIENT_NS addr add 203.0.113.$i/24 dev pbcli; sources+=(--source 203.0.113.$i)
    done
    printf 'bench * Bench-Secret-1 *\n' >"$dir/chap-secrets"; printf 'Bench-Secret-1\n' >"$dir/password"
    chmod 600 "$dir/chap-secrets" "$dir/password"
    cat >"$dir/pptp.toml" <<TOML
listen = "$BENCH_SERVER_OUTER"
port = 1723
name = "bench"
[tunnel]
local = "198.51.100.1"
pool = ["198.51.100.10-198.51.100.250"]
overcommit = true
mtu = 1400
[auth]
methods = ["mschapv2"]
secrets = "$dir/chap-secrets"
[limits]
max_sessions = 200000
max_sessions_per_peer = 100000
[keepalive]
lcp_echo_interval = 30
lcp_echo_failures = 4
[status]
socket = "$dir/status.sock"
TOML
    ip netns exec $BENCH_SERVER_NS "$BENCH_PPTP" serve --config "$dir/pptp.toml" >"$dir/serve.log" 2>&1 &
    serve=$!; bench_track_pid $serve
    bench_wait_listen $BENCH_SERVER_NS 1723 10 || { tail "$dir/serve.log" >&2; bench_die "pptp serve does not listen"; }
    sleep 1
    rss0=$(rss_kib $serve)
    k=$per_connection
    if [[ $k == auto ]]; then
        files=$(ulimit -Hn); [[ $files == unlimited ]] && files=1048576
        k=$(( (n + files - 2000 - 1) / (files - 2000) ))
    fi
    ip netns exec $BENCH_CLIENT_NS "$BENCH_LOADGEN" --server $BENCH_SERVER_OUTER --user bench \
        --password-file "$dir/password" --sessions "$n" --concurrency "$concurrency" --calls-per-connection "$k" "${sources[@]}" \
        >"$dir/loadgen.out" 2>"$dir/loadgen.log" &
    loadgen=$!; bench_track_pid $loadgen
    limit=$((60 + n / 250))
    for ((i = 0; i < limit * 10; i++)); do
        grep -qE '^(up|failed) ' "$dir/loadgen.out" && break
        kill -0 $loadgen 2>/dev/null || break
        sleep 0.1
    done
    line=$(grep -E '^(up|failed) ' "$dir/loadgen.out" | head -1 || true)
    if [[ $line != up* ]]; then
        tail -5 "$dir/loadgen.log" >&2; tail -5 "$dir/serve.log" >&2
        [[ -n $keep_logs ]] && cp "$dir/serve.log" "$keep_logs/serve-$n-$run.log" && cp "$dir/loadgen.log" "$keep_logs/loadgen-$n-$run.log"
        bench_log "FAILED: $n sessions did not come up: ${line:-no answer within $limit s}"
        bench_result bench=sessions impl=ours sessions="$n" run="$run" failed="$n sessions did not come up: ${line:-timeout after $limit s}"
        bench_cleanup
        return 0
    fi
    setup_seconds=$(awk '{ print $3 }' <<<"$line")
    sleep 3
    rss_n=$(rss_kib $serve)
    cpu_before=$(bench_cpu_seconds $serve); lg_before=$(bench_cpu_seconds $loadgen); packets_before=$(wire_packets)
    if [[ -n $perf_dir ]]; then
        perf record -g -o "$perf_dir/serve-$n-$run.data" -p "$serve" -- sleep "$idle" >/dev/null 2>&1 || true
    else
        sleep "$idle"
    fi
    cpu_after=$(bench_cpu_seconds $serve); lg_after=$(bench_cpu_seconds $loadgen); packets_after=$(wire_packets)
    lost=$(grep -c 'lost after it was up' "$dir/loadgen.log" || true)
    kill -0 $serve 2>/dev/null || bench_die "pptp serve died during the run (see $dir/serve.log)"
    read -r rate per_session idle_percent loadgen_percent idle_pps < <(python3 -c "
n = $n; t = $setup_seconds
print(n / t if t > 0 else 0, ($rss_n - $rss0) * 1024 / n, ($cpu_after - $cpu_before) / $idle * 100,
      ($lg_after - $lg_before) / $idle * 100, ($packets_after - $packets_before) / $idle)")
    printf 'ours sessions=%s (%s per TCP connection) run %s: set-up %.0f sessions/s (%.2f s), RSS %.0f bytes per session (%s KiB at 0, %s KiB at N), idle CPU %.2f %% of a core (load generator %.2f %%), %.0f packets/s on the wire%s\n' \
        "$n" "$k" "$run" "$rate" "$setup_seconds" "$per_session" "$rss0" "$rss_n" "$idle_percent" "$loadgen_percent" "$idle_pps" \
        "$( ((lost > 0)) && echo ", $lost sessions lost while idle")"
    bench_result bench=sessions impl=ours sessions="$n" run="$run" setup_per_second="$rate" setup_seconds="$setup_seconds" \
        rss_bytes_per_session="$per_session" rss0_kib="$rss0" rssn_kib="$rss_n" idle_cpu_percent="$idle_percent" \
        loadgen_idle_cpu_percent="$loadgen_percent" idle_seconds="$idle" sources="$((source_count + 1))" lost="$lost" \
        calls_per_connection="$k" idle_packets_per_second="$idle_pps"
    # Graceful stop with N sessions (SIGTERM: every call cleared, every control connection stopped, the load
    # generator still answering): seconds until the process is gone, at most 120.
    local stop_start stop_seconds
    stop_start=$(date +%s.%N)
    kill -TERM $serve 2>/dev/null || true
    for ((i = 0; i < 1200; i++)); do kill -0 $serve 2>/dev/null || break; sleep 0.1; done
    stop_seconds=$(python3 -c "import time; print(round(time.time() - $stop_start, 2))")
    kill -0 $serve 2>/dev/null && stop_seconds="120+"
    printf 'ours sessions=%s run %s: pptp serve stopped %s s after SIGTERM\n' "$n" "$run" "$stop_seconds"
    bench_result bench=sessions-stop impl=ours sessions="$n" run="$run" stop_seconds="$stop_seconds"
    if [[ -n $keep_logs ]]; then
        cp "$dir/serve.log" "$keep_logs/serve-$n-$run.log"; cp "$dir/loadgen.log" "$keep_logs/loadgen-$n-$run.log"
    fi
    bench_cleanup
}

for index in "${!count_array[@]}"; do
    n=${count_array[$index]}
    rounds=${rounds_array[$index]:-${rounds_array[-1]}}
    for ((run = 1; run <= rounds; run++)); do
        run_once "$n" "$run"
    done
done
