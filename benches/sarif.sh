#!/usr/bin/env bash
# `matrix sarif` against the original's DuckDB query over the same SARIF files, with hyperfine.
# Reads ../shared/corpus/amd64-sast.tar.xz at run time and unpacks it into a temporary
# directory; nothing of it is kept. Needs: hyperfine, python3 with duckdb (pip install duckdb).
#
#   cargo build --release && benches/sarif.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
archive=$here/../shared/corpus/amd64-sast.tar.xz
[[ -f $archive ]] || { echo "skipping: ../shared/corpus/amd64-sast.tar.xz not present" >&2; exit 0; }
matrix=$here/target/release/matrix
[[ -x $matrix ]] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xJf "$archive" -C "$work" amd64-sast/data
data=$work/amd64-sast/data

# Same rows, same order, same bytes: the comparison is of equal work.
"$matrix" sarif "$data" --format csv >"$work/matrix.csv" 2>/dev/null
python3 "$here/benches/sarif_duckdb.py" "$data" >"$work/duckdb.csv"
cmp "$work/matrix.csv" "$work/duckdb.csv"
echo "outputs identical: $(($(wc -l <"$work/matrix.csv") - 1)) findings" >&2

hyperfine --warmup 2 --min-runs 10 --export-json "$work/hyperfine.json" \
    -n "matrix sarif" "$matrix sarif $data --format csv" \
    -n "duckdb (same csv)" "python3 $here/benches/sarif_duckdb.py $data" \
    -n "duckdb (counts only)" "python3 $here/benches/sarif_duckdb.py $data --count"

# hyperfine's summary compares means; the medians and their ratio are what we report.
python3 - "$work/hyperfine.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
for r in results:
    print(f"{r['command']:<22} median {r['median']:8.3f} s  user {r['user']:7.3f} s  "
          f"ratio {r['median'] / base:6.1f}")
PY
