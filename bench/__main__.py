"""`make bench`: run every benchmark, each measuring its baseline in the same run, and print a summary.

Each benchmark prints its own figures and writes JSON under var/bench/. Run one alone with
`python -m bench.<name>` (matching, documents, api, load).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time

BENCHES = ["matching", "documents", "api", "load"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=BENCHES, help="which benchmarks (default: all)")
    args = parser.parse_args()
    failures = []
    for name in args.names:
        if importlib.util.find_spec(f"bench.{name}") is None:
            print(f"== bench.{name}: not found", flush=True)
            failures.append(name)
            continue
        print(f"\n== bench.{name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"== bench.{name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failures.append(name)
    if failures:
        print(f"\nfailed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
