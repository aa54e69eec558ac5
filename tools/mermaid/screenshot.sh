#!/usr/bin/env bash
# Draws the first ```mermaid block of a Markdown file to a PNG with Mermaid itself, in Debian's
# headless Chromium (apt-get install chromium), for pictures in the docs:
#   tools/mermaid/screenshot.sh check.md docs/check-chain.png
# Needs tools/mermaid installed (.ci/install-mermaid). Not used by the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
md="$1"
out="$(realpath -m "$2")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$md" "$work/page.html" "$here/node_modules/mermaid/dist/mermaid.min.js" <<'PY'
import html, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
diagram = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
script = open(sys.argv[3], encoding="utf-8").read()
page = f"""<!doctype html><html><head><meta charset="utf-8"><style>body{{margin:16px;background:#fff;
font-family:sans-serif}}</style><script>{script}</script></head><body>
<pre class="mermaid">{html.escape(diagram)}</pre>
<script>mermaid.initialize({{startOnLoad:true, securityLevel:"strict", flowchart:{{wrappingWidth:260}}}});</script>
</body></html>"""
open(sys.argv[2], "w", encoding="utf-8").write(page)
PY
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" --hide-scrollbars \
  --virtual-time-budget=5000 --window-size=1500,270 --screenshot="$out" "file://$work/page.html" 2>/dev/null
echo "wrote $out"
