"""``walmart-sync lag``: every stage's lag in one table (or JSON), and an exit status cron jobs and
monitors can use: 0 when every stage is within its threshold, 1 otherwise, 2 when the stages
cannot be read at all.

A trend needs more than one reading: the command takes ``--samples`` readings ``--gap`` seconds
apart and adds the history the running sidecar keeps (one reading every ``ops.lag_sample_s``)
within ``--window`` seconds.
"""

from __future__ import annotations

import json
import sys
import time

from config import Settings
from operations.lag.report import LagReport, overall
from operations.lag.sampler import close_builder, open_builder


def take_report(settings: Settings, window_s: float, samples: int, gap_s: float) -> LagReport:
    builder = open_builder(settings)
    try:
        fresh = [builder.sample()]
        for _ in range(max(0, samples - 1)):
            time.sleep(gap_s)
            fresh.append(builder.sample())
        return builder.build(window_s, fresh)
    finally:
        close_builder(builder)


def _cell(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def format_table(report: LagReport, all_partitions: bool = False) -> str:
    """Partitions are listed where they lag or are not OK (all of them with ``all_partitions``)."""
    lines = [f"{'STAGE':<36}{'STATUS':<7}{'LAG':>9}{'LAG(s)':>10}  {'OVER':<5}DETAIL"]
    for s in report.stages:
        lines.append(f"{s.label[:35]:<36}{s.status:<7}{_cell(s.lag_messages):>9}{_cell(s.lag_seconds):>10}  "
                     f"{'yes' if s.over else '':<5}{s.detail}")
        for p in s.partitions:
            if not all_partitions and p.lag == 0 and p.status == "OK":
                continue
            lines.append(f"{('  ' + p.topic + ' / ' + str(p.partition))[-35:]:<36}{p.status:<7}{p.lag:>9}"
                         f"{p.lag_seconds:>10.1f}  {'':<5}committed {_cell(p.committed)}, end {p.end}")
    over = report.over
    lines.append("")
    lines.append(f"overall {overall(report)}: " + (f"{len(over)} stage(s) over threshold: "
                                                   + ", ".join(s.label for s in over) if over
                                                   else "every stage within its threshold"))
    if report.absent_groups:
        lines.append("not running (no consumer group yet): " + ", ".join(report.absent_groups))
    return "\n".join(lines)


def run(settings: Settings, as_json: bool, window_s: float, samples: int, gap_s: float,
        all_partitions: bool = False) -> int:
    try:
        report = take_report(settings, window_s, samples, gap_s)
    except Exception as exc:
        from plumbing.logs import redact

        print(f"walmart-sync lag: cannot read the stages: {redact(str(exc))}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps({**report.model_dump(mode="json"), "overall": overall(report),
                          "over": [s.stage for s in report.over]}, indent=2))
    else:
        print(format_table(report, all_partitions))
    return 1 if report.over else 0
