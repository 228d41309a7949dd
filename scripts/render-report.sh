#!/usr/bin/env bash
# Renders docs/DESIGN.md (GitHub-flavoured Markdown) to docs/report.pdf: pandoc makes a standalone
# HTML5 page with an embedded print stylesheet (A4, page numbers), headless Chromium prints it.
#
#   scripts/render-report.sh [--png DIR] [--keep-html] [INPUT.md [OUTPUT.pdf]]
#
#   INPUT.md      default docs/DESIGN.md; OUTPUT.pdf default docs/report.pdf (paths relative to the cwd)
#   --png DIR     also render every page to DIR/<output name>-<n>.png (pdftoppm -r 60) to look at;
#                 earlier DIR/<output name>-*.png are removed first
#   --keep-html   keep the temporary directory with the intermediate HTML and print its path
#
# Needs pandoc, chromium and poppler-utils (pdfinfo, pdftoppm); installs the missing ones with
# apt-get when run as root or through sudo, like scripts/install-deps.sh.
#
# Layout: a level-1 first heading becomes the title block (unless the document has a YAML title);
# code blocks shrink their font (down to 6pt) to fit their longest line and wrap beyond that, so
# nothing is cut off at the right edge; tables and code blocks up to about a page are kept on one
# page, longer ones break between rows/lines (tables repeat their header row).
set -euo pipefail

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
png_dir=""
keep_html=0
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --png)
      [ $# -ge 2 ] || { echo "error: --png needs a directory" >&2; exit 2; }
      png_dir=$2; shift 2 ;;
    --png=*) png_dir=${1#--png=}; shift ;;
    --keep-html) keep_html=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; positional+=("$@"); break ;;
    -*) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -le 2 ] || { usage >&2; exit 2; }
input=${positional[0]:-$repo/docs/DESIGN.md}
output=${positional[1]:-$repo/docs/report.pdf}

# Absolute paths, relative ones taken from the caller's cwd.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
input=$(abspath "$input")
output=$(abspath "$output")
[ -n "$png_dir" ] && png_dir=$(abspath "$png_dir")
[ -f "$input" ] || { echo "error: $input does not exist" >&2; exit 1; }
[ -d "$(dirname "$output")" ] || { echo "error: directory of $output does not exist" >&2; exit 1; }

# --- dependencies ------------------------------------------------------------------------------
missing=()
command -v pandoc >/dev/null 2>&1 || missing+=(pandoc)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v pdfinfo >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; } || missing+=(poppler-utils)
# The stylesheet names DejaVu fonts; without any fonts Chromium prints empty boxes.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] || "$(dirname "${BASH_SOURCE[0]}")/install-deps.sh" "${missing[@]}"

# --- temporary directory -----------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/render-report.XXXXXX")
chrome_pid=""
cleanup() {
  [ -n "$chrome_pid" ] && kill "$chrome_pid" 2>/dev/null || true
  rm -f "$output.tmp"
  if [ "$keep_html" = 1 ]; then rm -rf "$tmp/profile"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- pandoc: Markdown -> standalone HTML5 --------------------------------------------------------
# Lua filter: title from the first H1, a date line, absolute image paths (the HTML lives in $tmp),
# code font size fitted to the longest line, keep-together hints for short tables and code blocks.
cat >"$tmp/report.lua" <<'LUA'
-- Must agree with the stylesheet: A4 (210mm) minus 2 x 20mm margins = 481.9pt, minus the code
-- block's padding and border (2 x 7pt); DejaVu Sans Mono advances 0.602em per character.
local CODE_WIDTH_PT = 481.9 - 14 - 2
local CHAR_EM = 0.602
local CODE_PT_MAX, CODE_PT_MIN = 8.5, 6.0
local KEEP_CODE_LINES = 50   -- longer code blocks may break across pages
local KEEP_TABLE_ROWS = 25   -- longer tables may break between rows

local docdir = os.getenv("REPORT_DOCDIR") or "."

local function set_attr(el, key, value)
  if el.attr then el.attr.attributes[key] = value else el.attributes[key] = value end
end

function CodeBlock(cb)
  local longest, lines = 0, 0
  for line in (cb.text .. "\n"):gmatch("([^\n]*)\n") do
    lines = lines + 1
    local n = utf8.len(line) or #line
    if n > longest then longest = n end
  end
  if longest > 0 then
    local pt = CODE_WIDTH_PT / (longest * CHAR_EM)
    if pt < CODE_PT_MAX then
      pt = math.max(CODE_PT_MIN, math.floor(pt * 10) / 10)
      cb.attributes["style"] = string.format("--code-pt: %.1fpt", pt)
    end
  end
  if lines > KEEP_CODE_LINES then cb.attributes["data-long"] = "1" end
  return cb
end

local function count_rows(tbl)
  local n = 0
  local head = tbl.head
  if head then n = n + #(head.rows or head[2] or {}) end
  for _, body in ipairs(tbl.bodies or {}) do
    n = n + #(body.body or {}) + #(body.head or {})
  end
  return n
end

-- Long tokens in table cells (identifiers, key patterns, paths) get <wbr> break points after
-- punctuation, at camelCase humps and at least every BREAK_RUN characters: a column then needs
-- at most that much width, so tables fit the page without breaking short words letter by letter.
local BREAK_MIN, BREAK_RUN = 20, 18
local function escape(c)
  if c == "&" then return "&amp;" elseif c == "<" then return "&lt;"
  elseif c == ">" then return "&gt;" elseif c == '"' then return "&quot;" end
  return c
end
local function breakable(text)
  local len = utf8.len(text)
  if not len or len <= BREAK_MIN then return nil end
  local out, run, prev = {}, 0, ""
  for _, cp in utf8.codes(text) do
    local c = utf8.char(cp)
    if run >= 3 and prev:match("%l") and c:match("%u") then out[#out + 1] = "<wbr>"; run = 0 end
    if run >= BREAK_RUN then out[#out + 1] = "<wbr>"; run = 0 end
    if run >= 3 and c:match("[({%[]") then out[#out + 1] = "<wbr>"; run = 0 end
    out[#out + 1] = escape(c)
    run = run + 1
    if c:match("[/:._,;=&?|})%]+-]") or c == "\\" then out[#out + 1] = "<wbr>"; run = 0 end
    if c:match("%s") then run = 0 end
    prev = c
  end
  return table.concat(out)
end
local cell_filter = {
  Code = function(el)
    local html = breakable(el.text)
    if html then return pandoc.RawInline("html", "<code>" .. html .. "</code>") end
  end,
  Str = function(el)
    local html = breakable(el.text)
    if html then return pandoc.RawInline("html", html) end
  end,
}

function Table(tbl)
  -- Let the browser size the columns from their content instead of pandoc's relative widths.
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  tbl = pandoc.walk_block(tbl, cell_filter)
  if count_rows(tbl) > KEEP_TABLE_ROWS then set_attr(tbl, "data-long", "1") end
  return tbl
end

function Image(img)
  local src = img.src
  if not src:match("^%a[%w+.-]*:") and not src:match("^/") and not src:match("^#") then
    img.src = docdir .. "/" .. src
  end
  return img
end

function Pandoc(doc)
  if doc.meta.title == nil then
    -- The first heading, when it is a level-1 one (a later H1 is a section, not the title).
    for i, block in ipairs(doc.blocks) do
      if block.t == "Header" then
        if block.level == 1 then
          doc.meta.title = pandoc.MetaInlines(block.content)
          doc.blocks:remove(i)
        end
        break
      end
    end
  end
  if doc.meta.title == nil then
    doc.meta.title = pandoc.MetaInlines({ pandoc.Str(os.getenv("REPORT_NAME") or "Report") })
  end
  if doc.meta.date == nil and os.getenv("REPORT_DATE") then
    doc.meta.date = pandoc.MetaInlines({ pandoc.Str(os.getenv("REPORT_DATE")) })
  end
  return doc
end
LUA

cat >"$tmp/print.css.html" <<'CSS'
<style>
@page {
  size: A4;
  margin: 14mm 20mm 15mm 20mm;
  @bottom-center {
    content: counter(page) " / " counter(pages);
    font: 8.5pt "DejaVu Sans", sans-serif;
    color: #777;
  }
}
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
/* The same width on screen as in print (A4 minus the margins), so fit-tables.js measures what
   will be printed. */
body {
  margin: 0; padding: 0; width: 170mm; max-width: none;
  font-family: "DejaVu Serif", "Noto Serif", "Liberation Serif", serif;
  font-size: 9.5pt; line-height: 1.32; color: #1a1a1a; background: #fff;
  hyphens: auto; overflow-wrap: break-word;
}
header#title-block-header {
  margin: 0 0 1.4em 0; padding-bottom: 0.6em; border-bottom: 1.5pt solid #333;
}
header#title-block-header h1.title {
  font-size: 21pt; line-height: 1.2; margin: 0 0 0.2em 0; text-align: left;
}
header#title-block-header .subtitle { font-size: 12pt; margin: 0; }
header#title-block-header .author, header#title-block-header .date {
  font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; color: #666; margin: 0.2em 0 0 0;
}
h1, h2, h3, h4, h5, h6 {
  font-family: "DejaVu Sans", "Noto Sans", "Liberation Sans", sans-serif;
  line-height: 1.25; margin: 1.2em 0 0.45em 0;
  break-after: avoid; page-break-after: avoid; break-inside: avoid;
}
h1 { font-size: 16pt; }
h2 { font-size: 13.5pt; border-bottom: 0.5pt solid #bbb; padding-bottom: 0.15em; }
h3 { font-size: 11.5pt; }
h4, h5, h6 { font-size: 10.5pt; }
p { margin: 0 0 0.6em 0; orphans: 3; widows: 3; }
ul, ol { margin: 0 0 0.6em 0; padding-left: 1.6em; }
li { margin: 0.15em 0; }
li > p { margin-bottom: 0.3em; }
a { color: #1a4f8b; text-decoration: none; }
blockquote { margin: 0 0 0.6em 0; padding: 0.1em 0.9em; border-left: 2.5pt solid #ccc; color: #444; }
hr { border: 0; border-top: 0.5pt solid #bbb; margin: 1em 0; }
img { max-width: 100%; height: auto; }
figure { margin: 0.8em 0; break-inside: avoid; }

/* Code: DejaVu Sans Mono; --code-pt is set per block by the Lua filter so the longest line fits;
   lines that still do not fit wrap instead of running off the page. */
code, pre, kbd, samp { font-family: "DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", monospace; }
code { font-size: 0.86em; background: #f2f2f2; padding: 0 0.2em; border-radius: 2pt; overflow-wrap: anywhere; hyphens: none; }
pre {
  font-size: var(--code-pt, 8.5pt); line-height: 1.3;
  background: #f6f7f8; border: 0.75pt solid #d5d8dc; border-radius: 3pt;
  padding: 6pt 7pt; margin: 0 0 0.8em 0;
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; overflow: visible;
  break-inside: avoid; page-break-inside: avoid;
  box-decoration-break: clone; -webkit-box-decoration-break: clone;
}
pre code { font-size: inherit; background: none; padding: 0; border-radius: 0; white-space: inherit; }
div.sourceCode { margin: 0 0 0.8em 0; background: none; overflow: visible; }
div.sourceCode > pre { margin: 0; }
pre > code.sourceCode { white-space: pre-wrap; }
pre > code.sourceCode > span { display: inline; line-height: inherit; text-indent: 0; padding-left: 0; }
div.sourceCode[data-long] > pre, pre[data-long] { break-inside: auto; page-break-inside: auto; }

/* Tables: thin borders, zebra rows, header repeated on every page. */
table {
  border-collapse: collapse; margin: 0.3em 0 1em 0; width: auto; max-width: 100%;
  font-size: 8.8pt; line-height: 1.32;
  break-inside: avoid; page-break-inside: avoid;
}
table[data-long] { break-inside: auto; page-break-inside: auto; }
table.squeeze th, table.squeeze td { overflow-wrap: anywhere; hyphens: auto; }
table.squeeze-fixed { table-layout: fixed; width: 100%; }
caption { caption-side: top; font-style: italic; text-align: left; margin-bottom: 0.3em; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td {
  border: 0.5pt solid #b9bec5; padding: 2.5pt 5pt; vertical-align: top;
  overflow-wrap: break-word; hyphens: auto;
}
th { background: #e4e8ee; font-family: "DejaVu Sans", sans-serif; font-weight: bold; text-align: left; hyphens: manual; }
tbody tr:nth-child(even) { background: #f3f5f8; }
td code, th code { font-size: 0.92em; background: none; padding: 0; overflow-wrap: break-word; }

/* Footnotes (GFM [^1]) */
section.footnotes { font-size: 8.5pt; }
</style>
CSS

# A table whose columns cannot fit the page even with the break points from the filter (many
# columns, long words) would make Chromium shrink the whole page and cut it off at the right edge:
# shrink such a table's font, then let its cells break anywhere, then fix its layout to the width.
cat >"$tmp/fit-tables.html" <<'JS'
<script>
(function () {
  function tooWide(t) { return t.getBoundingClientRect().width > t.parentElement.clientWidth + 0.5; }
  document.querySelectorAll("table").forEach(function (t) {
    if (!tooWide(t)) return;
    var pt = 8.8;
    while (tooWide(t) && pt > 7.6) { pt -= 0.4; t.style.fontSize = pt + "pt"; }
    if (tooWide(t)) t.classList.add("squeeze");
    while (tooWide(t) && pt > 6.5) { pt -= 0.4; t.style.fontSize = pt + "pt"; }
    if (tooWide(t)) t.classList.add("squeeze-fixed");
  });
})();
</script>
JS

name=$(basename "$input")
rev=$(git -C "$(dirname "$input")" describe --always --dirty 2>/dev/null || true)
date_line="$(date +%F) · $(basename "$(dirname "$input")")/$name${rev:+ @ $rev}"

html="$tmp/report.html"
REPORT_DOCDIR=$(dirname "$input") REPORT_NAME=${name%.*} REPORT_DATE=$date_line \
  pandoc --from gfm --to html5 --standalone \
    --lua-filter "$tmp/report.lua" \
    --include-in-header "$tmp/print.css.html" \
    --include-after-body "$tmp/fit-tables.html" \
    --highlight-style pygments \
    --metadata lang=en --metadata document-css=false \
    --output "$html" "$input"

# --- headless Chromium: HTML -> PDF -------------------------------------------------------------
mkdir "$tmp/profile"
rm -f "$output.tmp"
# timeout bounds the wait: a wedged Chromium should not hang the caller forever.
timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --user-data-dir="$tmp/profile" \
  --no-pdf-header-footer --print-to-pdf="$output.tmp" "file://$html" \
  >"$tmp/chromium.log" 2>&1 &
chrome_pid=$!
status=0
wait "$chrome_pid" || status=$?
chrome_pid=""
if [ "$status" -ne 0 ] || [ ! -s "$output.tmp" ]; then
  echo "error: chromium did not print the PDF (exit $status); its output:" >&2
  cat "$tmp/chromium.log" >&2
  exit 1
fi
mv -f "$output.tmp" "$output"

pages=$(pdfinfo "$output" | awk '/^Pages:/ { print $2 }')
echo "$output: $pages pages"

if [ -n "$png_dir" ]; then
  mkdir -p "$png_dir"
  prefix=$(basename "$output" .pdf)
  rm -f "$png_dir/$prefix"-*.png
  pdftoppm -r 60 -png "$output" "$png_dir/$prefix"
  echo "pages as PNG: $png_dir/$prefix-*.png"
fi
if [ "$keep_html" = 1 ]; then
  echo "html: $html"
fi
