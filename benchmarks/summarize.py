"""Publish a benchmark run: its summary (no raw samples, no machine paths) into benchmarks/summaries/.

The scripts write every measurement to benchmarks/raw/ (gitignored). What BENCHMARKS.md cites is the summary:
the same document without the per-run records (`runs`), the sample lists behind each median (`values`) and the
settings that name this machine's folders. Tables come from it (benchmarks/tables_md.py).

    python benchmarks/summarize.py benchmarks/raw/results.json          # -> benchmarks/summaries/results.json
    python benchmarks/summarize.py benchmarks/raw/results.json -o benchmarks/summaries/results-busy-machine.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import SUMMARIES, compact_json, summary_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("raw", type=Path, help="a results file written by run.py, host_threads.py, ...")
    parser.add_argument("-o", "--out", type=Path, help="summary file [benchmarks/summaries/<same name>]")
    args = parser.parse_args(argv)
    out = args.out or SUMMARIES / args.raw.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(compact_json(summary_of(json.loads(args.raw.read_text()))) + "\n")
    print(f"{out}: {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
