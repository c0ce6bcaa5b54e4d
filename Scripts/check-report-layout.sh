#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium (Debian's `chromium`) and fails when text
# in a chart overlaps other text or is clipped by its chart: what a reader would see, not
# what the SVG says; then at a phone's width (390 px), fails when the page scrolls sideways.
# Also writes screenshots beside the report (report.png, report-390.png) to look at.
#
#   Scripts/check-report-layout.sh runs/demo
set -euo pipefail
run="${1:?usage: $0 RUN_DIR}"
report="$run/report.html"
[ -f "$report" ] || { echo "no $report: run headroom report $run first" >&2; exit 2; }
command -v chromium >/dev/null || { echo "needs Debian's chromium (apt-get install chromium)" >&2; exit 2; }
probe="$(mktemp --suffix=.html)"
trap 'rm -f "$probe"' EXIT
# The report with a script appended that measures every <text> as laid out.
sed 's#</body>##' "$report" > "$probe"
cat >> "$probe" <<'JS'
<script>
const problems = [];
for (const [chartIndex, svg] of [...document.querySelectorAll("svg")].entries()) {
  const frame = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() !== "")
    .map(t => ({ text: t.textContent.trim(), box: t.getBoundingClientRect() }));
  const title = svg.getAttribute("aria-label") || `svg ${chartIndex}`;
  for (const { text, box } of texts) {
    if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1 || box.bottom > frame.bottom + 1)
      problems.push(`${title}: "${text}" is clipped by its chart`);
  }
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i].box, b = texts[j].box;
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) problems.push(`${title}: "${texts[i].text}" overlaps "${texts[j].text}"`);
  }
}
// Nothing may make the page wider than the window, down to a phone's width (tables scroll in
// their cards). Headless Chromium lays out --dump-dom at 500 px at the least.
if (document.documentElement.scrollWidth > window.innerWidth + 1)
  problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
const out = document.createElement("pre");
out.id = "layout-result";
out.textContent = `LAYOUT ${problems.length} problems\n` + problems.join("\n");
document.body.appendChild(out);
</script></body></html>
JS
result=""
for width in 1280 390; do
  flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=$width,4200)
  found="$(chromium "${flags[@]}" --dump-dom "file://$(realpath "$probe")" 2>/dev/null | sed -n '/<pre id="layout-result">/,/<\/pre>/p' | sed -e 's#.*<pre id="layout-result">##' -e 's#</pre>.*##')"
  shot="$run/report.png"; [ "$width" = 390 ] && shot="$run/report-390.png"
  chromium "${flags[@]}" --screenshot="$shot" "file://$(realpath "$report")" >/dev/null 2>&1 || true
  echo "at $width px: $found"
  echo "screenshot: $shot"
  result="$result$found;"
done
[[ "$result" == "LAYOUT 0 problems;LAYOUT 0 problems;" ]]
