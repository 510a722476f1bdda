#!/usr/bin/env python3
"""bench/report.py - turns the results of bench/run into the Markdown of docs/benchmarks.md.

    report.py render KIND RESULTS.jsonl       print the Markdown for KIND (throughput, latency, sessions)
    report.py splice DOC SECTION FILE         replace what lies between <!-- bench:SECTION:begin --> and
                                              <!-- bench:SECTION:end --> in DOC by the contents of FILE

Every figure is the median of the runs with [min-max]; every ratio is computed per run (both figures measured in
the same round of bench/run), then summarised the same way.
"""
import json
import math
import statistics
import sys
from collections import defaultdict

TESTS = ["tcp1", "tcp4", "udp1400", "udp64"]
TEST_NAMES = {
    "tcp1": "TCP, 1 stream",
    "tcp4": "TCP, 4 streams",
    "udp1400": "UDP, 1400-byte packets",
    "udp64": "UDP, 64-byte packets",
}
# Which C reference configuration each of our modes is compared with: the fastest for that mode first (issue 8 goal).
OUR_REFERENCES = {
    "mppe128": ["-s -C ossl -b 32", "-s -C ossl"],
    "none": ["-C none"],
}
OUR_NAMES = {"mppe128": "ours, MPPE-128 stateless", "none": "ours, no MPPE"}
REFERENCE_NAMES = {
    "-s -C ossl -b 32": "C reference `-s -C ossl -b 32` (MPPE-128 stateless, OpenSSL, batches of 32)",
    "-s -C ossl": "C reference `-s -C ossl` (MPPE-128 stateless, OpenSSL)",
    "-C ossl": "C reference `-C ossl` (MPPE-128 stateful, OpenSSL)",
    "-C none": "C reference `-C none` (no encryption)",
}


def load(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def finite(values):
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def summary(values, digits=0, bold=False):
    values = finite(values)
    if not values:
        return "–"
    med = statistics.median(values)
    text = f"{med:.{digits}f}"
    if bold:
        text = f"**{text}**"
    if len(values) > 1:
        text += f" [{min(values):.{digits}f}–{max(values):.{digits}f}]"
    return text


def per_run(rows, key):
    """{run: value} for rows that have `key`."""
    return {row["run"]: row[key] for row in rows if key in row and "run" in row}


def ratios(ours, theirs):
    """Per-run ratios ours/theirs over the runs both have."""
    return [ours[r] / theirs[r] for r in ours if r in theirs and theirs[r]]


def skipped_lines(results, bench):
    reasons = sorted({row["skipped"] for row in results if row.get("bench") == bench and "skipped" in row})
    return [f"- Not measured: {reason}." for reason in reasons]


def failed_lines(results, bench):
    failures = sorted({row["failed"] for row in results if row.get("bench") == bench and "failed" in row})
    return [f"- **Failed**: {failure} (see the log of bench/run)." for failure in failures]


def render_throughput(results):
    rows = [r for r in results if r.get("bench") == "throughput" and "mbps" in r]
    groups = defaultdict(list)
    for row in rows:
        groups[(row["impl"], row.get("config", ""), row["test"])].append(row)
    runs = len({row["run"] for row in rows}) if rows else 0
    out = []
    out.append(
        f"{runs} rounds; in each round every implementation ran each test once, so ratios are per round. Mbit/s counts "
        "IP packets at the receiver (TCP: iperf3's received goodput; UDP: datagrams received × their IP size). "
        "Packets/s: UDP, datagrams received per second; TCP, Mbit/s ÷ (8 × 1400). CPU-s/Gbit: user + system time of "
        "both tunnel endpoints (`pptp serve` + `pptp connect`, or both `pptp_toy`) from /proc/<pid>/stat, per gigabit "
        "received."
    )
    out.append("")
    out.append(
        "| implementation | test | Mbit/s | packets/s | CPU-s/Gbit | ÷ C reference (same mode) | ÷ bare veth |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|")
    veth = {test: per_run(groups.get(("veth", "", test), []), "mbps") for test in TESTS}

    def line(name, impl, config, test, reference_config=None):
        group = groups.get((impl, config, test), [])
        if not group:
            return None
        mbps = per_run(group, "mbps")
        cells = [
            name,
            TEST_NAMES[test],
            summary([r["mbps"] for r in group], 0),
            summary([r["pps"] for r in group], 0),
            summary([r["cpu_s_per_gbit"] for r in group if "cpu_s_per_gbit" in r], 2),
        ]
        if reference_config:
            parts = []
            for ref in reference_config:
                theirs = per_run(groups.get(("reference", ref, test), []), "mbps")
                if theirs:
                    parts.append(f"{summary(ratios(mbps, theirs), 2, bold=True)} vs `{ref}`")
            cells.append("<br>".join(parts) if parts else "–")
        else:
            cells.append("")
        cells.append(summary(ratios(mbps, veth[test]), 3) if veth[test] and impl != "veth" else "–")
        return "| " + " | ".join(cells) + " |"

    for mode in ["mppe128", "none"]:
        for test in TESTS:
            text = line(OUR_NAMES[mode], "ours", mode, test, OUR_REFERENCES[mode])
            if text:
                out.append(text)
    for config in ["-s -C ossl -b 32", "-s -C ossl", "-C ossl", "-C none"]:
        for test in TESTS:
            text = line(REFERENCE_NAMES.get(config, config), "reference", config, test)
            if text:
                out.append(text)
    for test in TESTS:
        text = line("bare veth (no tunnel, MTU 1500)", "veth", "", test)
        if text:
            out.append(text)
    out.append("")
    # The goal of issue 8.
    ours = per_run(groups.get(("ours", "mppe128", "tcp1"), []), "mbps")
    reference = per_run(groups.get(("reference", "-s -C ossl -b 32", "tcp1"), []), "mbps")
    if ours and reference:
        values = ratios(ours, reference)
        verdict = "met" if statistics.median(values) >= 1.0 else "not met"
        out.append(
            f"Goal (TCP, MPPE-128 stateless, ≥ 1.0× the C reference `-s -C ossl -b 32`): "
            f"{summary(values, 2, bold=True)}, {verdict}."
        )
    else:
        out.append(
            "Goal (TCP, MPPE-128 stateless, ≥ 1.0× the C reference `-s -C ossl -b 32`): not measured yet "
            "(our tunnel did not run)."
        )
    out.extend(skipped_lines(results, "throughput"))
    out.extend(failed_lines(results, "throughput"))
    return "\n".join(out)


def render_latency(results):
    rows = [r for r in results if r.get("bench") == "latency" and "median_us" in r]
    groups = defaultdict(list)
    for row in rows:
        groups[(row["impl"], row.get("config", ""))].append(row)
    out = []
    out.append(
        "`ping -i 0.002` from the client namespace, through the tunnel and, alternating in batches of 100, over the "
        "veth beneath it (same namespaces, same run); added = tunnel − veth per round. Microseconds, median of the "
        "rounds [min–max]."
    )
    out.append("")
    out.append("| implementation | rounds | through the tunnel: median | p99 | over the veth: median | p99 | added: median | added: p99 |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    order = [("ours", "mppe128"), ("ours", "none")] + sorted(k for k in groups if k[0] == "reference") + [("veth", "")]
    for key in order:
        group = groups.get(key)
        if not group:
            continue
        impl, config = key
        if impl == "ours":
            name = OUR_NAMES.get(config, config)
        elif impl == "reference":
            name = REFERENCE_NAMES.get(config, config)
        else:
            name = "bare veth (no tunnel)"
        has_veth = all("veth_median_us" in r for r in group)
        added = [r["median_us"] - r["veth_median_us"] for r in group] if has_veth else []
        added99 = [r["p99_us"] - r["veth_p99_us"] for r in group] if has_veth else []
        cells = [
            name,
            str(len(group)),
            summary([r["median_us"] for r in group], 0),
            summary([r["p99_us"] for r in group], 0),
            summary([r["veth_median_us"] for r in group], 0) if has_veth else "–",
            summary([r["veth_p99_us"] for r in group], 0) if has_veth else "–",
            summary(added, 0, bold=True) if has_veth else "–",
            summary(added99, 0) if has_veth else "–",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    ours = groups.get(("ours", "mppe128"), [])
    if ours:
        added = statistics.median([r["median_us"] - r["veth_median_us"] for r in ours])
        out.append(
            f"Goal (added median ≤ 50 µs, MPPE-128 stateless): {added:.0f} µs, {'met' if added <= 50 else 'not met'}."
        )
    else:
        out.append("Goal (added median ≤ 50 µs, MPPE-128 stateless): not measured yet (our tunnel did not run).")
    out.extend(skipped_lines(results, "latency"))
    out.extend(failed_lines(results, "latency"))
    return "\n".join(out)


def render_sessions(results):
    rows = [r for r in results if r.get("bench") == "sessions" and "setup_per_second" in r]
    out = []
    if rows:
        out.append(
            "| sessions | calls per TCP connection | runs | set-up (sessions/s) | server RSS per idle session (bytes) "
            "| server idle CPU (% of one core) | load generator idle CPU (%) | idle packets/s on the wire | lost while idle |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        by_n = defaultdict(list)
        for row in rows:
            by_n[row["sessions"]].append(row)
        for n in sorted(by_n):
            group = by_n[n]
            calls = sorted({str(r.get("calls_per_connection", 1)) for r in group})
            out.append(
                f"| {n} | {', '.join(calls)} | {len(group)} | {summary([r['setup_per_second'] for r in group])} | "
                f"{summary([r['rss_bytes_per_session'] for r in group])} | "
                f"{summary([r['idle_cpu_percent'] for r in group], 2)} | "
                f"{summary([r.get('loadgen_idle_cpu_percent', 0) for r in group], 2)} | "
                f"{summary([r['idle_packets_per_second'] for r in group if 'idle_packets_per_second' in r])} | "
                f"{sum(int(r.get('lost', 0)) for r in group)} |"
            )
        out.append("")
        top = max(by_n)
        group = by_n[top]
        rss = statistics.median(r["rss_bytes_per_session"] for r in group)
        rate = statistics.median(r["setup_per_second"] for r in group)
        idle = statistics.median(r["idle_cpu_percent"] for r in group)
        met = lambda ok: "met" if ok else "**not met**"
        out.append(
            "Goals: 100 000 sessions at ≤ 16 KB RSS each, set-up ≥ 2 000 sessions/s, idle CPU < 5 % of one core. "
            f"At {top} sessions: {'' if top >= 100000 else '(fewer than 100 000 measured) '}"
            f"RSS {rss:.0f} bytes ({met(rss <= 16384)}), set-up {rate:.0f}/s ({met(rate >= 2000)}), "
            f"idle CPU {idle:.2f} % ({met(idle < 5)})."
        )
    stops = defaultdict(list)
    for row in results:
        if row.get("bench") == "sessions-stop" and "sessions" in row:
            stops[row["sessions"]].append(row.get("stop_seconds"))
    if stops:
        parts = []
        for n in sorted(stops):
            values = stops[n]
            text = f"{n} sessions: {summary(values, 1)} s"
            if any(isinstance(v, str) for v in values):
                text += " (some runs did not stop within 120 s)"
            parts.append(text)
        out.append("")
        out.append("Graceful stop (SIGTERM until the process is gone, every call cleared and logged): " + "; ".join(parts) + ".")
    out.extend(skipped_lines(results, "sessions"))
    out.extend(failed_lines(results, "sessions"))
    if not out:
        out.append("- Not measured.")
    return "\n".join(out)


def splice(doc_path, section, content_path):
    begin, end = f"<!-- bench:{section}:begin -->", f"<!-- bench:{section}:end -->"
    with open(doc_path) as handle:
        doc = handle.read()
    with open(content_path) as handle:
        content = handle.read().strip("\n")
    if begin not in doc or end not in doc:
        sys.exit(f"report.py: {doc_path} has no {begin} … {end} markers")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(doc_path, "w") as handle:
        handle.write(f"{head}{begin}\n{content}\n{end}{tail}")


def main(argv):
    if len(argv) == 4 and argv[1] == "render":
        results = load(argv[3])
        renderer = {"throughput": render_throughput, "latency": render_latency, "sessions": render_sessions}[argv[2]]
        print(renderer(results))
    elif len(argv) == 5 and argv[1] == "splice":
        splice(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
