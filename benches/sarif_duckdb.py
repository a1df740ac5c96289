#!/usr/bin/env python3
"""The original's way of counting analyzer findings, for comparison with `matrix sarif`.

DuckDB reads every SARIF file under DIR (`build_NNN/sarif-data/src/Python-<version>/*.sarif`)
and runs one SQL query: the distinct (version, path, start line, message) of the results that
have a source location, with their rule and the number of builds that reported each, as CSV on
stdout in the same shape and order as `matrix sarif DIR --format csv`. With `--count` it prints
only the number of distinct findings per version.

Usage: python3 benches/sarif_duckdb.py DIR [--count]      (pip install duckdb)
"""
import sys

import duckdb

QUERY = r"""
WITH files AS (
  SELECT filename, unnest(runs) AS run
  FROM read_json(? || '/*/sarif-data/src/Python-*/*.sarif', filename = true,
                 maximum_object_size = 268435456)
), results AS (
  SELECT regexp_extract(filename, '/Python-([^/]+)/[^/]+$', 1) AS version,
         regexp_extract(filename, '/([^/]+)/sarif-data/src/', 1) AS build,
         unnest(run.results) AS r
  FROM files
), findings AS (
  SELECT version, build,
         regexp_replace(r.locations[1].physicalLocation.artifactLocation.uri, '^\./', '') AS uri,
         r.locations[1].physicalLocation.region.startLine AS line,
         r.ruleId AS rule,
         r.message.text AS message
  FROM results
  WHERE r.locations[1].physicalLocation.artifactLocation.uri IS NOT NULL
)
"""

FULL = QUERY + r"""
SELECT version, uri, line, string_agg(DISTINCT rule, ';' ORDER BY rule) AS rule, message,
       count(DISTINCT build) AS builds
FROM findings
GROUP BY version, uri, line, message
ORDER BY string_split(regexp_replace(version, '[a-z]+', '.', 'g'), '.')::INT[], uri, line, message
"""

COUNT = QUERY + r"""
SELECT version, count(*) AS findings
FROM (SELECT DISTINCT version, uri, line, message FROM findings)
GROUP BY version ORDER BY version
"""


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1].rstrip("/")
    con = duckdb.connect()
    if "--count" in sys.argv[2:]:
        for version, n in con.execute(COUNT, [root]).fetchall():
            print(f"{version},{n}")
        return
    rel = con.execute(FULL, [root])
    import csv
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["version", "uri", "line", "rule", "message", "builds"])
    out.writerows(rel.fetchall())


if __name__ == "__main__":
    main()
