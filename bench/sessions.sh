#!/usr/bin/env bash
# bench/sessions.sh - many sessions in one `pptp serve`: set-up rate, server RSS per idle session, idle CPU with LCP
# echo keepalives, for N sessions with MS-CHAPv2 + MPPE-128 (issue 8, benchmark 3).
#   usage: bench/sessions.sh [--sessions "1000 10000 100000"] [--idle SECONDS] [--run R]
#
# Needs `pptp serve` and a load generator: our client engine running many sessions from one process, from several
# source addresses. It is looked for at $BENCH_LOADGEN (default: Benchmarks/.build/release/SessionLoadGenerator) and
# must accept
#     LOADGEN --server ADDRESS --user U --password-file F --sessions N --source ADDRESS [--source ADDRESS ...]
# bring the sessions up (TCP, SCCRQ, OCRQ, LCP, MS-CHAPv2, CCP, IPCP), print "up N SECONDS" once all N are up (or
# "failed K REASON" if some could not be), then hold them (answering LCP echoes) until SIGTERM. Until both exist, the
# script skips with a message. Layout: namespaces pptpbench-srv (203.0.113.1) and pptpbench-cli (203.0.113.2 and
# 203.0.113.101-120, so that beyond 65 535 sessions Call IDs repeat across peer addresses).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
counts="1000 10000 100000" idle=10 run=1
BENCH_LOADGEN=${BENCH_LOADGEN:-$BENCH_ROOT/Benchmarks/.build/release/SessionLoadGenerator}
while (($#)); do
    case $1 in
        --sessions) counts=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --run) run=$2; shift 2 ;;
        *) bench_die "unknown option $1" ;;
    esac
done
if ! reason=$(bench_pptp_available); then
    bench_skip "sessions: $reason"; bench_result bench=sessions impl=ours skipped="$reason"; exit 0
fi
if [[ ! -x $BENCH_LOADGEN ]] || ! "$BENCH_LOADGEN" --help >/dev/null 2>&1; then
    reason="no session load generator at $BENCH_LOADGEN yet"
    bench_skip "sessions: $reason"; bench_result bench=sessions impl=ours skipped="$reason"; exit 0
fi
bench_require_root
bench_install_trap
ulimit -n 1048576 2>/dev/null || ulimit -n 524288 2>/dev/null || true

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
sources=(--source $BENCH_CLIENT_OUTER)

for n in $counts; do
    dir=$(mktemp -d); bench_track_tmpdir "$dir"
    for ns in $BENCH_SERVER_NS $BENCH_CLIENT_NS; do ip netns del "$ns" 2>/dev/null || true; done
    bench_veth_pair $BENCH_SERVER_NS $BENCH_CLIENT_NS pbsrv pbcli $BENCH_SERVER_OUTER $BENCH_CLIENT_OUTER
    sources=(--source $BENCH_CLIENT_OUTER)
    for i in $(seq 101 120); do
        ip -n $BENCH_CLIENT_NS addr add 203.0.113.$i/24 dev pbcli; sources+=(--source 203.0.113.$i)
    done
    printf 'bench * Bench-Secret-1 *\n' >"$dir/chap-secrets"; printf 'Bench-Secret-1\n' >"$dir/password"
    cat >"$dir/pptp.toml" <<TOML
listen = "$BENCH_SERVER_OUTER"
port = 1723
name = "bench"
[tunnel]
local = "10.255.255.254"
pool = ["10.0.0.1-10.3.255.254"]
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
    ip netns exec $BENCH_CLIENT_NS "$BENCH_LOADGEN" --server $BENCH_SERVER_OUTER --user bench \
        --password-file "$dir/password" --sessions "$n" "${sources[@]}" >"$dir/loadgen.log" 2>&1 &
    loadgen=$!; bench_track_pid $loadgen
    limit=$((60 + n / 500))
    for ((i = 0; i < limit * 10; i++)); do
        grep -qE '^(up|failed) ' "$dir/loadgen.log" && break
        kill -0 $loadgen 2>/dev/null || break
        sleep 0.1
    done
    line=$(grep -E '^(up|failed) ' "$dir/loadgen.log" | head -1 || true)
    [[ $line == up* ]] || { tail "$dir/loadgen.log" >&2; bench_die "$n sessions did not come up: ${line:-timeout}"; }
    setup_seconds=$(awk '{ print $3 }' <<<"$line")
    sleep 2
    rss_n=$(rss_kib $serve)
    cpu_before=$(bench_cpu_seconds $serve); sleep "$idle"; cpu_after=$(bench_cpu_seconds $serve)
    read -r rate per_session idle_percent < <(python3 -c "
n = $n; t = $setup_seconds
print(n / t if t > 0 else 0, ($rss_n - $rss0) * 1024 / n, ($cpu_after - $cpu_before) / $idle * 100)")
    printf 'ours sessions=%s set-up %.0f sessions/s, RSS %.0f bytes per session (%s KiB at 0, %s KiB at N), idle CPU %.1f %% of a core\n' \
        "$n" "$rate" "$per_session" "$rss0" "$rss_n" "$idle_percent"
    bench_result bench=sessions impl=ours sessions="$n" run="$run" setup_per_second="$rate" \
        rss_bytes_per_session="$per_session" rss0_kib="$rss0" rssn_kib="$rss_n" idle_cpu_percent="$idle_percent"
    bench_cleanup
done
