"""What else the machine was doing during a measurement: load average and CPU time stolen.

On a virtual machine the hypervisor can give the guest's CPU time to its neighbours ("steal"
in /proc/stat); a benchmark on a box that loses a quarter of its time that way is slower for a
reason no load average inside the guest shows.
"""

from __future__ import annotations

import os
from pathlib import Path

STAT = Path("/proc/stat")


def _cpu_times() -> list[int] | None:
    """The machine's total CPU times in jiffies (user … steal), or None off Linux."""
    try:
        fields = STAT.read_text().splitlines()[0].split()
    except OSError:
        return None
    return [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal


class Watch:
    """Started on creation; `summary()` says the load now and the share of CPU time stolen."""

    def __init__(self) -> None:
        self.start = _cpu_times()
        self.load = os.getloadavg()[0]

    def stolen(self) -> float | None:
        """The share of all CPU time since the start that the hypervisor took, 0–1."""
        end = _cpu_times()
        if self.start is None or end is None:
            return None
        spent = [b - a for a, b in zip(self.start, end, strict=True)]
        return spent[7] / sum(spent) if sum(spent) else 0.0

    def summary(self) -> str:
        stolen = self.stolen()
        return (f"load {self.load:.2f}" + ("" if stolen is None else
                                          f", {stolen:.0%} of CPU time stolen by the host"))
