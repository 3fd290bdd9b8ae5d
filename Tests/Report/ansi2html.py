#!/usr/bin/env python3
"""Terminal output (with ANSI colours) on standard input -> an HTML page that
looks like a dark terminal. The first argument is the command shown above it."""
import html
import re
import sys

FG = {30: "#1e1e1e", 31: "#e06c75", 32: "#98c379", 33: "#e5c07b", 34: "#61afef", 35: "#c678dd", 36: "#56b6c2",
      37: "#dcdfe4", 90: "#7f848e", 91: "#e06c75", 92: "#98c379", 93: "#e5c07b", 94: "#61afef", 95: "#c678dd",
      96: "#56b6c2", 97: "#ffffff"}
BG = {40: "#1e1e1e", 41: "#be5046", 42: "#6a9955", 43: "#d19a66", 44: "#3b6ea5", 45: "#a05cc5", 46: "#2f8f9d", 47: "#dcdfe4"}

text = sys.stdin.read().replace("\r", "")
text = "\n".join(line for line in text.split("\n") if not line.startswith("opened '"))
out, style = [], {}
for part in re.split(r"(\x1b\[[0-9;]*m)", text):
    m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
    if m:
        for code in [int(c) for c in (m.group(1) or "0").split(";") if c]:
            if code == 0:
                style = {}
            elif code in FG:
                style["color"] = FG[code]
            elif code in BG:
                style["background"] = BG[code]
        continue
    if not part:
        continue
    esc = html.escape(part)
    if style:
        css = ";".join(f"{k}:{v}" for k, v in style.items())
        out.append(f'<span style="{css}">{esc}</span>')
    else:
        out.append(esc)
prompt = html.escape(sys.argv[1]) if len(sys.argv) > 1 else ""
print(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #282c34; }}
pre {{ margin: 0; padding: 14px 18px; color: #dcdfe4; font: 13px/1.25 "DejaVu Sans Mono", monospace; }}
.p {{ color: #98c379; }}
</style></head><body><pre><span class="p">{prompt}</span>
{''.join(out)}</pre></body></html>""")
