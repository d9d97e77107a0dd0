#!/bin/bash
# Layout check of the built book in headless Chromium: for every page of _build/html/book, list each
# visible scroll box (table container, code block) whose content is wider than the box at a window
# width (default 1280 px), i.e. what a reader would have to scroll sideways to see. Needs
# chromium-headless-shell (../shared/toolchain.md); not part of `make test`, since CI machines may
# lack a browser. Exit status 1 when anything overflows.
#   usage: tools/check_layout.sh [width]        (run `make book` first)
set -u
W=${1:-1280}
HTML="$(cd "$(dirname "$0")/.." && pwd)/_build/html/book"
command -v chromium-headless-shell >/dev/null || { echo "error: chromium-headless-shell not found (../shared/toolchain.md)" >&2; exit 2; }
[ -d "$HTML" ] || { echo "error: $HTML not found: run make book first" >&2; exit 2; }
PROBE='<script>addEventListener("load",()=>{let o=[];document.querySelectorAll("main *").forEach(e=>{if(e.offsetParent===null)return;let s=getComputedStyle(e);if(["auto","scroll","hidden"].includes(s.overflowX)&&e.scrollWidth>e.clientWidth+2)o.push((e.scrollWidth-e.clientWidth)+" px too wide: "+(e.textContent||"").trim().slice(0,60).replaceAll(String.fromCharCode(10)," "))});document.body.setAttribute("data-overflow",JSON.stringify(o))})</script>'
bad=0
for f in "$HTML"/*.html; do
  tmp="$HTML/.layout_$$_$(basename "$f")"
  sed "s#</body>#${PROBE//&/\\&}</body>#" "$f" > "$tmp"
  out=$(timeout 60 chromium-headless-shell --no-sandbox --disable-gpu --window-size="$W",2000 \
        --virtual-time-budget=5000 --dump-dom "file://$tmp" 2>/dev/null | grep -o 'data-overflow="[^"]*"')
  rm -f "$tmp"
  if [ "$out" != 'data-overflow="[]"' ]; then
    bad=1; echo "$(basename "$f" .html) at $W px: ${out//&quot;/\"}"
  fi
done
[ $bad -eq 0 ] && echo "layout check passed: nothing scrolls sideways at $W px"
exit $bad
