#!/usr/bin/env bash
# Re-records every transcript from its script, after an intended change of
# output. Review the diff (git diff) before committing: a transcript is a
# regression test. Usage: Tests/Transcripts/rerecord.sh [path/to/dealsh]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/debug/dealsh}
record() {  # record SCRIPT TRANSCRIPT HEADER
  local tmp; tmp=$(mktemp -d)
  { echo "$3"; "$BIN" run --record "$1" --var TMP="$tmp"; } | sed "/^dealsh> /!s|$tmp|...|g" > "$2"
  rm -rf "$tmp"
}
record Sessions/neocloud-abl.check.dsh Sessions/neocloud-abl.transcript \
  "# The neocloud H100 DDTL example (built by Sessions/neocloud-abl.dsh), replayed by 'make test'."
record Sessions/miner-double-leverage.check.dsh Sessions/miner-double-leverage.transcript \
  "# The bitcoin miner's double leverage (built by Sessions/miner-double-leverage.dsh), replayed by 'make test'."
record Sessions/datacenter-project-finance.check.dsh Sessions/datacenter-project-finance.transcript \
  "# The AI campus project finance (built by Sessions/datacenter-project-finance.dsh), replayed by 'make test'."
for s in Tests/Transcripts/*.dsh; do
  name=$(basename "$s" .dsh)
  head=$(head -n 1 "$s")
  record "$s" "Tests/Transcripts/$name.transcript" "$head"
done
echo "re-recorded; review with: git diff -- '*.transcript'"
