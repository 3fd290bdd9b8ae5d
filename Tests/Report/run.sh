#!/usr/bin/env bash
# The credit memo in a real browser: for each example session, write the
# memo with `report`, render it in headless Chromium, and check that it is
# not blank, that every chart is drawn with a non-zero size, and that the
# file names no network resource.
# Usage: Tests/Report/run.sh PATH/TO/dealsh
set -u
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$BROWSER" ] || { echo "report: no Chromium (make test installs it)"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
check() {
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok - $name"; else failed=$((failed + 1)); echo "not ok - $name"; fi
}
browser() { timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" "$@" 2>/dev/null; }

for s in neocloud-abl miner-double-leverage datacenter-project-finance; do
  memo="$WORK/$s.html"
  check "$s: report writes the memo" bash -c "cd '$ROOT' && '$BIN' -c 'open Sessions/$s.deal; report $memo paths=500' >/dev/null"
  check "$s: no network reference" bash -c "! grep -Eq '(src|href)=\"(https?:)?//' '$memo'"
  body=$(browser --virtual-time-budget=5000 --dump-dom "file://$memo" | grep -o '<body[^>]*>')
  charts=$(sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p' <<<"$body")
  drawn=$(sed -n 's/.*data-drawn="\([0-9]*\)".*/\1/p' <<<"$body")
  check "$s: the browser draws every chart ($drawn of $charts, non-zero size)" test -n "$charts" -a "${charts:-0}" -ge 5 -a "${drawn:-0}" = "${charts:-x}"
  browser --window-size=900,3000 --screenshot="$WORK/$s.png" "file://$memo" >/dev/null
  size=$(stat -c %s "$WORK/$s.png" 2>/dev/null || echo 0)
  # A blank page of this size compresses to a few kilobytes.
  check "$s: the rendered page is not blank (screenshot $size bytes)" test "$size" -gt 60000
done

echo "report: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
