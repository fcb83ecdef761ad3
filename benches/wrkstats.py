"""What benches/load.sh and benches/forward.sh share: reading one wrk run, and
summarising the rounds (medians per scenario, ratios of the medians and paired per
round). Imported by the scripts' inline Python; not a command of its own."""

import csv
import re
import statistics
import sys

_UNITS = {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}


def read_wrk(path, script):
    """(requests, req/s, p50 µs, p99 µs) of the `wrk --latency` output in `path`."""
    out = open(path).read()

    def find(pattern, flags=0):
        m = re.search(pattern, out, flags)
        if not m:
            sys.exit(f"{script}: no {pattern!r} in wrk's output:\n{out}")
        return m.group(1)

    def us(v):
        m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
        if not m:
            sys.exit(f"{script}: cannot read latency {v!r} in:\n{out}")
        n, unit = m.groups()
        return float(n) * _UNITS[unit]

    return (
        int(find(r"(\d+) requests in")),
        float(find(r"Requests/sec:\s+([\d.]+)")),
        us(find(r"^\s+50%\s+(\S+)", re.M)),
        us(find(r"^\s+99%\s+(\S+)", re.M)),
    )


class Rounds:
    """The rows of a results CSV (scenario, round, then numeric columns)."""

    def __init__(self, path, keys):
        rows = list(csv.DictReader(open(path)))
        by = {}
        for r in rows:
            by.setdefault(r["scenario"], []).append(r)
        self.count = len(rows) // max(len(by), 1)
        self.median = {s: {k: statistics.median(float(r[k]) for r in rs) for k in keys} for s, rs in by.items()}
        self._rows = {(r["scenario"], r["round"]): r for r in rows}

    def ratio(self, a, b, key="rps"):
        """a/b of the medians, and the median of a/b within each round (paired: the
        two runs were seconds apart, so a drift of the machine between rounds cancels
        out; when the two disagree, the machine drifted, trust the paired one)."""
        paired = statistics.median(
            float(self._rows[(a, n)][key]) / float(self._rows[(b, n)][key])
            for (s, n) in self._rows
            if s == a and (b, n) in self._rows
        )
        return self.median[a][key] / self.median[b][key], paired
