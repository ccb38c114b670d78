#!/usr/bin/env bash
# Not a benchmark: renders leaderboard/README.md as GitHub would (markdown with tables, GitHub's sans font
# and table style) and takes a headless Chromium screenshot of its first 1,000 pixels into
# docs/img/leaderboard-front.png, to check by eye that the answer is readable on the first screen.
# Needs Debian's chromium and the `markdown` package (pip install markdown): neither is a dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
cp leaderboard/summary.png "$out/"
python - "$out/index.html" <<'PY'
import sys, markdown
body = markdown.markdown(open("leaderboard/README.md").read(), extensions=["tables"])
style = """body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;
max-width:1012px;margin:24px auto;color:#1f2328}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #d1d9e0;padding:4px 8px}th{background:#f6f8fa}img{max-width:100%}h1{font-size:26px}"""
open(sys.argv[1], "w").write(f"<html><head><meta charset='utf-8'><style>{style}</style></head><body>{body}</body></html>")
PY
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$out/profile" --hide-scrollbars \
  --window-size=1100,1000 --screenshot="$PWD/docs/img/leaderboard-front.png" "file://$out/index.html" 2>/dev/null
rm -rf "$out"
echo "wrote docs/img/leaderboard-front.png"
