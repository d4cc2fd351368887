"""Counters and a latency histogram in the Prometheus text format (version 0.0.4).

Every series has a fixed slot in one array of 64-bit integers, in memory shared by all
worker processes (an anonymous shared mapping made before they fork): each worker writes
only its own copy, `/metrics` from any worker adds them up. Label values come from closed
sets (operations, outcomes, rule ids, HTTP codes), so the series stay bounded.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Iterable, Sequence

from deploysafe.rules import REGISTRY

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
OUTCOMES = ("allowed", "patched", "denied", "skipped", "exempt", "error")
REJECTED = (400, 404, 408, 413, 415, 499, 503)  # 499: the client went away
# Connections refused on arrival (at the process's or the client's limit) and closed by
# the server (to make room for a new one, or because headers did not come in time).
REFUSED = ("max_connections", "per_client")
CLOSED = ("evicted", "header_timeout")
# Every TCP connection accepted, and those that completed the TLS handshake: the
# difference is handshakes that failed or ran out of time (or are under way).
STAGES = ("accepted", "handshake_done")
RELOADS = ("ok", "error")


class Metrics:
    def __init__(self, workers: int = 1, rule_ids: Iterable[str] | None = None) -> None:
        self.rules = tuple(rule_ids if rule_ids is not None else (r.id for r in REGISTRY))
        keys: list[tuple[str, object]] = []
        keys += [("requests", (op, out)) for op in OPERATIONS for out in OUTCOMES]
        keys += [("denials", r) for r in self.rules]
        keys += [("warnings", r) for r in self.rules]
        keys += [("rejected", c) for c in REJECTED]
        keys += [("reloads", r) for r in RELOADS]
        keys += [("refused", r) for r in REFUSED]
        keys += [("closed", r) for r in CLOSED]
        keys += [("open", None)]
        keys += [("stage", st) for st in STAGES]
        keys += [("bucket", i) for i in range(len(BUCKETS))]
        keys += [("sum_ns", None), ("count", None)]
        self._index = {k: i for i, k in enumerate(keys)}
        self._size = len(keys)
        self.workers = workers
        self._map = mmap.mmap(-1, 8 * self._size * workers)  # MAP_SHARED: forks see writes
        self._all = memoryview(self._map).cast("q")
        self._base = 0

    def use_slot(self, worker: int) -> None:
        """Called in a worker process: its writes go to its own copy."""
        if not 0 <= worker < self.workers:
            raise ValueError(f"worker {worker} out of range")
        self._base = worker * self._size

    def _add(self, key: tuple[str, object], n: int = 1) -> None:
        i = self._index.get(key)
        if i is not None:
            self._all[self._base + i] += n

    def request(self, operation: str, outcome: str) -> None:
        self._add(("requests", (operation, outcome)))

    def denial(self, rule_id: str) -> None:
        self._add(("denials", rule_id))

    def warning(self, rule_id: str) -> None:
        self._add(("warnings", rule_id))

    def rejected(self, status: int) -> None:
        self._add(("rejected", status))

    def reload(self, result: str) -> None:
        self._add(("reloads", result))

    def refused(self, reason: str) -> None:
        self._add(("refused", reason))

    def closed(self, reason: str) -> None:
        self._add(("closed", reason))

    def stage(self, stage: str) -> None:
        self._add(("stage", stage))

    def connections(self, change: int) -> None:
        """The open-connections gauge: +1 when one is admitted, -1 when it goes."""
        self._add(("open", None), change)

    def observe(self, seconds: float) -> None:
        i = bisect.bisect_left(BUCKETS, seconds)
        if i < len(BUCKETS):
            self._add(("bucket", i))
        self._add(("sum_ns", None), int(seconds * 1e9))
        self._add(("count", None))

    def value(self, key: tuple[str, object]) -> int:
        """The total over all workers."""
        i = self._index[key]
        return sum(self._all[w * self._size + i] for w in range(self.workers))

    def render(self) -> str:
        v = self._totals()
        out: list[str] = []

        def family(name: str, kind: str, help_: str) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")

        def series(name: str, group: str, labels: Sequence[tuple[str, object]]) -> None:
            for label, key in labels:
                n = v[self._index[(group, key)]]
                if n:
                    out.append(f"{name}{{{label}}} {n}")

        family(
            "deploysafe_admission_requests_total",
            "counter",
            "Admission reviews answered, by operation and outcome "
            "(allowed, patched, denied, skipped, exempt, error).",
        )
        series(
            "deploysafe_admission_requests_total",
            "requests",
            [(f'operation="{op}",outcome="{o}"', (op, o)) for op in OPERATIONS for o in OUTCOMES],
        )
        family(
            "deploysafe_admission_denials_total",
            "counter",
            "Findings that denied a request, by rule.",
        )
        series(
            "deploysafe_admission_denials_total",
            "denials",
            [(f'rule="{r}"', r) for r in self.rules],
        )
        family(
            "deploysafe_admission_warnings_total",
            "counter",
            "Findings returned as warnings, by rule.",
        )
        series(
            "deploysafe_admission_warnings_total",
            "warnings",
            [(f'rule="{r}"', r) for r in self.rules],
        )
        family(
            "deploysafe_http_rejected_total",
            "counter",
            "Requests refused before review (malformed, too large, too slow), by HTTP status.",
        )
        series("deploysafe_http_rejected_total", "rejected", [(f'code="{c}"', c) for c in REJECTED])
        family(
            "deploysafe_connections_total",
            "counter",
            "TCP connections accepted, and those that completed the TLS handshake (the "
            "difference failed it or ran out of time).",
        )
        stages = [(f'stage="{st}"', st) for st in STAGES]
        series("deploysafe_connections_total", "stage", stages)
        family(
            "deploysafe_connections_refused_total",
            "counter",
            "Connections refused on arrival, at the process's or one client's connection limit.",
        )
        series(
            "deploysafe_connections_refused_total",
            "refused",
            [(f'reason="{r}"', r) for r in REFUSED],
        )
        family(
            "deploysafe_connections_closed_total",
            "counter",
            "Connections the server closed: idle ones, to make room for a new one (evicted), "
            "and ones whose request headers did not arrive in time.",
        )
        series(
            "deploysafe_connections_closed_total", "closed", [(f'reason="{r}"', r) for r in CLOSED]
        )
        family("deploysafe_connections_open", "gauge", "Connections open (TLS done).")
        out.append(f"deploysafe_connections_open {v[self._index[('open', None)]]}")
        family("deploysafe_tls_reloads_total", "counter", "Certificate reloads, by result.")
        series("deploysafe_tls_reloads_total", "reloads", [(f'result="{r}"', r) for r in RELOADS])
        name = "deploysafe_admission_duration_seconds"
        family(name, "histogram", "Time from request to answer for admission reviews.")
        total = 0
        for i, bound in enumerate(BUCKETS):
            total += v[self._index[("bucket", i)]]
            out.append(f'{name}_bucket{{le="{bound}"}} {total}')
        count = v[self._index[("count", None)]]
        out.append(f'{name}_bucket{{le="+Inf"}} {count}')
        out.append(f"{name}_sum {v[self._index[('sum_ns', None)]] / 1e9:.6f}")
        out.append(f"{name}_count {count}")
        return "\n".join(out) + "\n"

    def _totals(self) -> list[int]:
        n = self._size
        totals = list(self._all[0:n])
        for w in range(1, self.workers):
            for i, x in enumerate(self._all[w * n : (w + 1) * n]):
                totals[i] += x
        return totals
