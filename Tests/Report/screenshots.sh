#!/usr/bin/env bash
# Makes the README's pictures from the real program: terminal output of
# dealsh (colours included) rendered as a terminal would, and the credit memo,
# each screenshot in headless Chromium. Usage: Tests/Report/screenshots.sh PATH/TO/dealsh
set -eu
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/docs"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
mkdir -p "$OUT"
cd "$ROOT"

# A command's output as a terminal shows it (colour on), as an HTML page.
terminal() {  # terminal NAME HEIGHT COMMANDS
  script -qc "COLUMNS=100 '$BIN' -c \"$3\"" /dev/null | python3 "$ROOT/Tests/Report/ansi2html.py" "dealsh> ${3#*; }" > "$WORK/$1.html"
  "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" \
    --window-size=940,"$2" --screenshot="$OUT/$1.png" "file://$WORK/$1.html" 2>/dev/null >/dev/null
}
terminal terminal-waterfall 800 "open neocloud-abl; waterfall --chart dscr"
terminal terminal-grid 190 "open neocloud-abl; shock grid deflation=0%..60%:4 utilization=0pt..-30pt:4"
terminal terminal-mc 720 "open miner-double-leverage; shock mc paths=20000 corr=0% converge=95%"

"$BIN" -c "open neocloud-abl; report $WORK/memo.html paths=2000" >/dev/null
"$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/profile" \
  --window-size=900,2200 --screenshot="$OUT/memo.png" "file://$WORK/memo.html" 2>/dev/null >/dev/null
ls -la "$OUT"/*.png
