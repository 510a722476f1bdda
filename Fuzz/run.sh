#!/usr/bin/env bash
# Builds one libFuzzer target (or all) with -sanitize=fuzzer,address and runs it on a seed corpus taken from
# the golden captures.
#   Fuzz/run.sh                      every target, 60 s each
#   Fuzz/run.sh FuzzGRE 600          one target, 10 minutes
#   Fuzz/run.sh FuzzPPP 0            until it finds something (Ctrl-C to stop)
# Crashes land in Fuzz/Crashes/; copy each into Tests/PPTPCaptureTests/FuzzRegressions/ as
# <control|gre|ppp|hdlc|capture>-<name>, fix the bug, and `swift test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")"
targets=(FuzzControlStream FuzzGRE FuzzPPP FuzzHDLC FuzzCapture FuzzSession)
if [[ $# -ge 1 ]]; then targets=("$1"); fi
seconds="${2:-60}"

corpus_name() {
    case "$1" in
        FuzzControlStream) echo control ;;
        FuzzGRE) echo gre ;;
        FuzzPPP) echo ppp ;;
        FuzzHDLC) echo hdlc ;;
        FuzzSession) echo session ;;
        FuzzCapture) echo capture ;;
        *) echo "unknown target $1" >&2; exit 64 ;;
    esac
}

if [[ ! -d Corpus ]]; then
    swift build -c release --product FuzzCorpus
    .build/release/FuzzCorpus ../Tests/Fixtures/captures Corpus
fi
mkdir -p Crashes
for target in "${targets[@]}"; do
    name="$(corpus_name "$target")"
    swift build -c debug --product "$target" -Xswiftc -sanitize=fuzzer,address
    mkdir -p "Corpus/$name"
    echo "== $target for ${seconds}s on Corpus/$name"
    ".build/debug/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="Crashes/$name-" "Corpus/$name"
done
