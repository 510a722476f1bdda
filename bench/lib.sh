# bench/lib.sh - helpers shared by the benchmark scripts (sourced, not run).
#
# Conventions: every script that creates namespaces or processes registers them with `bench_track_netns` /
# `bench_track_pid` right after creating them; `bench_cleanup` (installed as an EXIT/INT/TERM trap by
# `bench_install_trap`) kills those processes by their id and deletes those namespaces, so nothing is left behind
# even when a step fails. Results are JSON lines appended to $BENCH_RESULTS (one object per measurement); bench/report.py
# turns them into the tables of docs/benchmarks.md.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_REFERENCE_DIR=${BENCH_REFERENCE_DIR:-$(cd "$BENCH_ROOT/.." && pwd)/shared/reference}
BENCH_PPTP=${BENCH_PPTP:-$BENCH_ROOT/.build/release/pptp}

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_skip() { printf '[bench %s] SKIP: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { printf '[bench %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

BENCH_PIDS=()
BENCH_NETNS=()
BENCH_TMPDIRS=()
bench_track_pid() { BENCH_PIDS+=("$@"); }
bench_track_netns() { BENCH_NETNS+=("$@"); }
bench_track_tmpdir() { BENCH_TMPDIRS+=("$@"); }

# Kills the processes this script started (by id: TERM, then KILL after a grace period), deletes its namespaces
# (which also kills anything still inside them, by the ids `ip netns pids` lists) and its temporary directories.
bench_cleanup() {
    local pid ns
    for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${BENCH_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ns in "${BENCH_NETNS[@]}"; do
        if ip netns list 2>/dev/null | grep -qw -- "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    for dir in "${BENCH_TMPDIRS[@]}"; do rm -rf -- "$dir"; done
    BENCH_PIDS=(); BENCH_NETNS=(); BENCH_TMPDIRS=()
}

bench_install_trap() {
    trap 'bench_cleanup' EXIT
    trap 'bench_cleanup; exit 130' INT
    trap 'bench_cleanup; exit 143' TERM
}

# Installs the Debian packages that provide the given commands/files when they are missing.
#   bench_need gcc:gcc iperf3:iperf3 /usr/include/openssl/rc4.h:libssl-dev
bench_need() {
    local missing=() item what package
    for item in "$@"; do
        what=${item%%:*}; package=${item#*:}
        if [[ $what == /* ]]; then [[ -e $what ]] || missing+=("$package")
        else command -v "$what" >/dev/null 2>&1 || missing+=("$package"); fi
    done
    ((${#missing[@]} == 0)) && return 0
    bench_log "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
        || bench_die "could not install ${missing[*]}"
}

bench_require_root() { [[ $(id -u) == 0 ]] || bench_die "needs root (network namespaces)"; }

# Appends one result object to $BENCH_RESULTS. Arguments: key=value pairs; numbers stay numbers.
bench_result() {
    [[ -n ${BENCH_RESULTS:-} ]] || return 0
    python3 - "$@" >>"$BENCH_RESULTS" <<'PY'
import json, sys
out = {}
for arg in sys.argv[1:]:
    key, _, value = arg.partition("=")
    try:
        out[key] = int(value)
    except ValueError:
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
print(json.dumps(out))
PY
}

# CPU time (user + system, in seconds) of process $1 so far, from /proc/<pid>/stat; empty if it is gone.
bench_cpu_seconds() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # Fields after the command name (which may contain spaces): utime is field 14, stime field 15.
    python3 -c 'import os,sys; s=sys.argv[1]; f=s[s.rindex(")")+2:].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$stat"
}

# Creates namespaces $1 and $2 joined by a veth (interfaces $3 in $1, $4 in $2) with addresses $5/24 and $6/24.
bench_veth_pair() {
    local a=$1 b=$2 ia=$3 ib=$4 addr_a=$5 addr_b=$6
    ip netns add "$a"; bench_track_netns "$a"
    ip netns add "$b"; bench_track_netns "$b"
    ip link add "$ia" netns "$a" type veth peer name "$ib" netns "$b"
    ip -n "$a" addr add "$addr_a/24" dev "$ia"; ip -n "$a" link set "$ia" up; ip -n "$a" link set lo up
    ip -n "$b" addr add "$addr_b/24" dev "$ib"; ip -n "$b" link set "$ib" up; ip -n "$b" link set lo up
}

# Waits until TCP port $2 listens in namespace $1 (at most $3 seconds, default 5).
bench_wait_listen() {
    local ns=$1 port=$2 limit=${3:-5} i
    for ((i = 0; i < limit * 20; i++)); do
        ip netns exec "$ns" ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# Runs one iperf3 test from namespace $1 to server address $2 (an iperf3 server must run in the peer namespace) and
# prints "bits_per_second packets_per_second lost_percent". $3: test name: tcp1, tcp4, udp1400, udp64 (UDP sizes are
# IP packet sizes: payload + 28). $4: seconds.
bench_iperf() {
    local ns=$1 server=$2 test=$3 secs=$4 args=()
    case $test in
        tcp1) args=(-P 1) ;;
        tcp4) args=(-P 4) ;;
        udp1400) args=(-u -b 0 -l 1372) ;;
        udp64) args=(-u -b 0 -l 36) ;;
        *) bench_die "unknown iperf test $test" ;;
    esac
    timeout $((secs + 20)) ip netns exec "$ns" iperf3 -c "$server" -t "$secs" -J "${args[@]}" 2>/dev/null \
        | python3 -c '
import json, sys
test = sys.argv[1]
try:
    data = json.load(sys.stdin)
except ValueError:
    print("0 0 100"); sys.exit(0)
end = data.get("end", {})
if test.startswith("udp"):
    size = 1400 if test == "udp1400" else 64
    s = end.get("sum_received") or end.get("sum", {})
    bps = s.get("bits_per_second", 0.0)
    packets = s.get("packets") or 0
    lost = s.get("lost_percent", 0.0)
    seconds = s.get("seconds") or 1
    # Received datagrams per second; bits/s counts UDP payload only, so report IP-level bits too.
    received = packets - (s.get("lost_packets") or 0) if packets else bps / 8 / (size - 28)
    pps = received / seconds
    print(pps * size * 8, pps, lost)
else:
    s = end.get("sum_received", {})
    bps = s.get("bits_per_second", 0.0)
    # TCP: segments of at most MSS octets; packets/s estimated from the MTU of the path (1400 in the tunnel).
    print(bps, bps / 8 / 1400, 0)
' "$test"
}

# ---- Our tunnel: `pptp serve` and `pptp connect` in two namespaces ----

# Returns 0 when $BENCH_PPTP has the serve and connect subcommands; otherwise prints why and returns 1.
bench_pptp_available() {
    if [[ -n ${BENCH_PPTP_UNAVAILABLE:-} ]]; then echo "$BENCH_PPTP_UNAVAILABLE"; return 1; fi
    if [[ ! -x $BENCH_PPTP ]]; then echo "$BENCH_PPTP is not built"; return 1; fi
    if ! "$BENCH_PPTP" serve --help >/dev/null 2>&1; then echo "'pptp serve --help' fails: no serve subcommand yet"; return 1; fi
    if ! "$BENCH_PPTP" connect --help >/dev/null 2>&1; then echo "'pptp connect --help' fails: no connect subcommand yet"; return 1; fi
    return 0
}

BENCH_SERVER_NS=pptpbench-srv
BENCH_CLIENT_NS=pptpbench-cli
BENCH_SERVER_OUTER=203.0.113.1
BENCH_CLIENT_OUTER=203.0.113.2
BENCH_SERVER_INNER=192.0.2.1

# Brings up our tunnel: namespaces pptpbench-srv (203.0.113.1) and pptpbench-cli (203.0.113.2) joined by a veth,
# `pptp serve` in the first (tunnel address 192.0.2.1, pool 192.0.2.10-192.0.2.20, MTU 1400), `pptp connect` in the
# second, until a ping goes through. $1: mppe128 (MS-CHAPv2 + MPPE-128 stateless, the default) or none (MS-CHAPv2,
# no MPPE). Sets BENCH_SERVE_PID, BENCH_CONNECT_PID and BENCH_TUNNEL_DIR (configuration and logs).
bench_tunnel_up() {
    local mode=$1 encryption client_mppe i
    case $mode in
        mppe128) encryption=$'required = true\nstrengths = [128]\nstateful = false'; client_mppe=128 ;;
        none) encryption=$'required = false\nstrengths = []\nstateful = false'; client_mppe=none ;;
        *) bench_die "unknown tunnel mode $mode" ;;
    esac
    BENCH_TUNNEL_DIR=$(mktemp -d); bench_track_tmpdir "$BENCH_TUNNEL_DIR"
    for ns in $BENCH_SERVER_NS $BENCH_CLIENT_NS; do ip netns del "$ns" 2>/dev/null || true; done
    bench_veth_pair $BENCH_SERVER_NS $BENCH_CLIENT_NS pbsrv pbcli $BENCH_SERVER_OUTER $BENCH_CLIENT_OUTER
    printf 'bench * Bench-Secret-1 *\n' >"$BENCH_TUNNEL_DIR/chap-secrets"
    printf 'Bench-Secret-1\n' >"$BENCH_TUNNEL_DIR/password"
    chmod 600 "$BENCH_TUNNEL_DIR/chap-secrets" "$BENCH_TUNNEL_DIR/password"
    cat >"$BENCH_TUNNEL_DIR/pptp.toml" <<TOML
listen = "$BENCH_SERVER_OUTER"
port = 1723
name = "bench"
[tunnel]
local = "$BENCH_SERVER_INNER"
pool = ["192.0.2.10-192.0.2.20"]
mtu = 1400
[auth]
methods = ["mschapv2"]
secrets = "$BENCH_TUNNEL_DIR/chap-secrets"
[encryption]
$encryption
[status]
socket = "$BENCH_TUNNEL_DIR/status.sock"
TOML
    ip netns exec $BENCH_SERVER_NS "$BENCH_PPTP" serve --config "$BENCH_TUNNEL_DIR/pptp.toml" \
        >"$BENCH_TUNNEL_DIR/serve.log" 2>&1 &
    BENCH_SERVE_PID=$!; bench_track_pid $BENCH_SERVE_PID
    if ! bench_wait_listen $BENCH_SERVER_NS 1723 10; then
        tail -20 "$BENCH_TUNNEL_DIR/serve.log" >&2; bench_die "pptp serve does not listen on 1723"
    fi
    ip netns exec $BENCH_CLIENT_NS "$BENCH_PPTP" connect $BENCH_SERVER_OUTER --user bench \
        --password-file "$BENCH_TUNNEL_DIR/password" --mppe $client_mppe --mtu 1400 --route 192.0.2.0/24 \
        >"$BENCH_TUNNEL_DIR/connect.log" 2>&1 &
    BENCH_CONNECT_PID=$!; bench_track_pid $BENCH_CONNECT_PID
    for ((i = 0; i < 100; i++)); do
        ip netns exec $BENCH_CLIENT_NS ping -c 1 -W 0.2 $BENCH_SERVER_INNER >/dev/null 2>&1 && return 0
        kill -0 $BENCH_CONNECT_PID 2>/dev/null || break
        sleep 0.2
    done
    echo "--- pptp serve:" >&2; tail -20 "$BENCH_TUNNEL_DIR/serve.log" >&2
    echo "--- pptp connect:" >&2; tail -20 "$BENCH_TUNNEL_DIR/connect.log" >&2
    bench_die "the tunnel did not come up ($mode): no ping from the client to $BENCH_SERVER_INNER within 20 s"
}

# Round trips from namespace $1 to a tunnel address $2 and to the peer's veth address $3 ($4 pings each, 2 ms apart,
# in alternating batches of 100 so that drift affects both alike). Prints "tunnel_median tunnel_p99 veth_median
# veth_p99 count" in microseconds.
bench_latency_pair() {
    local ns=$1 tunnel=$2 veth=$3 pings=$4 done batch tunnel_rtts=() veth_rtts=()
    for ((done = 0; done < pings; done += 100)); do
        batch=$((pings - done < 100 ? pings - done : 100))
        veth_rtts+=($(ip netns exec "$ns" ping -c "$batch" -i 0.002 -W 1 "$veth" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'))
        tunnel_rtts+=($(ip netns exec "$ns" ping -c "$batch" -i 0.002 -W 1 "$tunnel" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'))
    done
    python3 -c '
import sys
t, v = sys.argv[1].split(), sys.argv[2].split()
def stats(xs):
    xs = sorted(float(x) * 1000 for x in xs)
    return (xs[len(xs) // 2], xs[min(len(xs) - 1, int(len(xs) * 0.99))]) if xs else (float("nan"),) * 2
print(*stats(t), *stats(v), min(len(t), len(v)))' "${tunnel_rtts[*]}" "${veth_rtts[*]}"
}
