"""The read-only status page (GET /status on the ops endpoint): what support staff need to answer
"why doesn't Walmart show the right stock yet?" on one screen, refreshing itself.

Per-stage lag with a short trend (the same report `walmart-sync lag` prints), each component's last
success and recent errors, dead letters with their reasons, recent Walmart orders and returns
with their Commerce counterparts, and listing counts. Plain server-rendered HTML: no scripts, no
external assets, nothing to install next to a Commerce database.
"""

from __future__ import annotations

import html
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from config import Settings
from operations.lag.report import LagReport, ReportBuilder, overall

REFRESH_S = 5


class ComponentRow(BaseModel):
    component: str
    last_success: str | None
    last_error_at: str | None
    last_error: str | None
    recent_errors: list[str] = []


class LetterRow(BaseModel):
    worker: str
    failed_at: str | None
    error_code: str | None
    reason: str
    source: str
    key: str | None


class OrderRow(BaseModel):
    purchase_order_id: str
    commerce_order: str | None
    status: str
    last_error: str | None
    updated_at: str


class ReturnRow(BaseModel):
    return_order_id: str
    status: str
    walmart_status: str | None
    detail: str | None
    updated_at: str


class StatusData(BaseModel):
    report: LagReport
    overall: str
    components: list[ComponentRow]
    letters: list[LetterRow]
    orders: list[OrderRow]
    returns: list[ReturnRow]


def _rows(builder: ReportBuilder, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return builder.query(builder.state, sql, args)


def _stamp(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else None


def collect(settings: Settings, builder: ReportBuilder, report: LagReport, letters_per_worker: int = 5) -> StatusData:
    from sync_workers.runtime.dlq import recent_letters

    errors: dict[str, list[str]] = {}
    for component, at, error in _rows(builder, "SELECT component, at, error FROM component_errors ORDER BY id DESC "
                                               "LIMIT 200"):
        if len(errors.setdefault(component, [])) < 5:
            errors[component].append(f"{_stamp(at)}  {error}")
    components = [ComponentRow(component=c, last_success=_stamp(ok), last_error_at=_stamp(err_at), last_error=err,
                               recent_errors=errors.get(c, []))
                  for c, ok, err_at, err in _rows(builder, "SELECT component, last_success_at, last_error_at, "
                                                           "last_error FROM component_status ORDER BY component")]
    letters = []
    for stage in report.stages:
        if stage.stage.startswith("dlq:"):
            worker = stage.stage.split(":", 1)[1]
            for letter in recent_letters(settings, worker, letters_per_worker):
                summary = letter.summary()
                letters.append(LetterRow(worker=worker, failed_at=summary["failed_at"],
                                         error_code=summary["error_code"], reason=summary["reason"],
                                         source=summary["source"], key=summary["key"]))
    orders = [OrderRow(purchase_order_id=po, commerce_order=increment or (str(order_id) if order_id else None),
                       status=status, last_error=error, updated_at=_stamp(updated) or "")
              for po, status, order_id, increment, error, updated in _rows(
                  builder, "SELECT s.purchase_order_id, s.status, s.commerce_order_id, m.commerce_increment_id, "
                           "s.last_error, s.updated_at FROM walmart_order_state s LEFT JOIN walmart_order_map m "
                           "ON m.purchase_order_id = s.purchase_order_id ORDER BY s.updated_at DESC LIMIT 20")]
    returns = [ReturnRow(return_order_id=rid, status=status, walmart_status=walmart, detail=detail,
                         updated_at=_stamp(updated) or "")
               for rid, status, walmart, detail, updated in _rows(
                   builder, "SELECT return_order_id, status, walmart_status, detail, updated_at FROM walmart_return_map "
                            "ORDER BY updated_at DESC LIMIT 10")]
    return StatusData(report=report, overall=overall(report), components=components, letters=letters,
                      orders=orders, returns=returns)


# rendering -------------------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _sparkline(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    top = max(values) or 1.0
    width, height = 120, 24
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(values))
    return (f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="lag trend, last {_e(values[-1])}"><polyline fill="none" stroke="currentColor" '
            f'stroke-width="1.5" points="{points}"/></svg>')


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def render(data: StatusData) -> str:
    report = data.report
    stage_rows = []
    for s in report.stages:
        stage_rows.append(
            f'<tr data-stage="{_e(s.stage)}" class="s-{_e(s.status)}{" over" if s.over else ""}">'
            f'<td>{_e(s.label)}</td><td class="status">{_e(s.status)}</td>'
            f'<td class="lag-messages num">{_num(s.lag_messages)}</td>'
            f'<td class="lag-seconds num">{_num(s.lag_seconds)}</td><td>{_sparkline(s.trend)}</td>'
            f'<td class="threshold">{_e(s.threshold)}</td><td class="detail">{_e(s.detail)}</td></tr>')
        for p in s.partitions:
            stage_rows.append(
                f'<tr data-partition="{_e(s.stage)}/{_e(p.topic)}/{p.partition}" class="partition s-{_e(p.status)}">'
                f'<td>&nbsp;&nbsp;{_e(p.topic)} / {p.partition}</td><td class="status">{_e(p.status)}</td>'
                f'<td class="lag-messages num">{p.lag}</td><td class="lag-seconds num">{p.lag_seconds:.1f}</td>'
                f'<td></td><td></td><td class="detail">committed {_e(p.committed)}, end {p.end}</td></tr>')
    components = "".join(
        f'<tr data-component="{_e(c.component)}"><td>{_e(c.component)}</td><td>{_e(c.last_success or "never")}</td>'
        f'<td>{_e(c.last_error_at or "-")}</td><td class="errors">{"<br>".join(_e(e) for e in c.recent_errors)}</td></tr>'
        for c in data.components) or '<tr><td colspan="4">no component has reported yet</td></tr>'
    letters = "".join(
        f'<tr data-letter="{_e(l.worker)}"><td>{_e(l.worker)}</td><td>{_e(l.failed_at)}</td><td>{_e(l.error_code)}</td>'
        f'<td>{_e(l.source)}</td><td>{_e(l.key)}</td><td class="reason">{_e(l.reason)}</td></tr>'
        for l in data.letters) or '<tr><td colspan="6">no dead letters</td></tr>'
    orders = "".join(
        f'<tr data-po="{_e(o.purchase_order_id)}"><td>{_e(o.purchase_order_id)}</td><td>{_e(o.commerce_order or "-")}</td>'
        f'<td class="status">{_e(o.status)}</td><td>{_e(o.updated_at)}</td><td>{_e(o.last_error or "")}</td></tr>'
        for o in data.orders) or '<tr><td colspan="5">no Walmart orders yet</td></tr>'
    returns = "".join(
        f'<tr data-return="{_e(r.return_order_id)}"><td>{_e(r.return_order_id)}</td><td>{_e(r.walmart_status)}</td>'
        f'<td class="status">{_e(r.status)}</td><td>{_e(r.updated_at)}</td><td>{_e(r.detail or "")}</td></tr>'
        for r in data.returns) or '<tr><td colspan="5">no Walmart returns yet</td></tr>'
    over = [s.label for s in report.over]
    headline = ("every stage within its threshold" if not over else
                f"{len(over)} stage(s) over threshold: " + ", ".join(over))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_S}">
<title>walmart-sync status: {_e(data.overall)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #1d2329; }}
h1 {{ font-size: 1.3em; }} h2 {{ font-size: 1.05em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #dde2e6; padding: 4px 8px;
text-align: left; vertical-align: top; }} .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.s-OK .status {{ color: #1a7f37; }} .s-WARN .status {{ color: #9a6700; }}
.s-STALL .status, .s-STOP .status, .s-ERR .status {{ color: #cf222e; font-weight: 600; }}
tr.over {{ background: #fff5f5; }} tr.partition {{ color: #57606a; }} .trend {{ color: #57606a; }}
#overall {{ font-weight: 600; }}
</style></head><body>
<h1>walmart-sync <span id="overall" class="s-{_e(data.overall)}"><span class="status">{_e(data.overall)}</span></span></h1>
<p id="headline">{_e(headline)}. Generated {_e(report.generated_at)}; trend over {report.window_s:.0f} s; refreshes
every {REFRESH_S} s. The same figures: <code>walmart-sync lag</code>.</p>
<h2>Stages</h2>
<table id="stages"><thead><tr><th>stage</th><th>status</th><th>lag (messages)</th><th>lag (s)</th><th>trend</th>
<th>threshold</th><th>detail</th></tr></thead><tbody>{"".join(stage_rows)}</tbody></table>
<p>Not running (no consumer group yet): {_e(", ".join(report.absent_groups) or "none")}</p>
<h2>Components: last success and recent errors</h2>
<table id="components"><thead><tr><th>component</th><th>last success</th><th>last error</th><th>recent errors</th></tr>
</thead><tbody>{components}</tbody></table>
<h2>Dead letters (most recent per worker)</h2>
<table id="letters"><thead><tr><th>worker</th><th>failed at</th><th>code</th><th>source</th><th>key</th><th>reason</th>
</tr></thead><tbody>{letters}</tbody></table>
<h2>Walmart orders</h2>
<table id="orders"><thead><tr><th>purchase order</th><th>Commerce order</th><th>status</th><th>updated</th>
<th>last error</th></tr></thead><tbody>{orders}</tbody></table>
<h2>Walmart returns</h2>
<table id="returns"><thead><tr><th>return</th><th>Walmart</th><th>status</th><th>updated</th><th>detail</th></tr>
</thead><tbody>{returns}</tbody></table>
</body></html>"""


class StatusSource:
    """Builds the page's data for the ops endpoint, at most every ``min_interval_s``."""

    def __init__(self, settings: Settings, min_interval_s: float = 2.0):
        self.settings = settings
        self.min_interval_s = min_interval_s
        self._builder: ReportBuilder | None = None
        self._cached: tuple[float, StatusData] | None = None

    def data(self) -> StatusData:
        from operations.lag.sampler import close_builder, open_builder

        if self._cached and time.monotonic() - self._cached[0] < self.min_interval_s:
            return self._cached[1]
        try:
            if self._builder is None:
                self._builder = open_builder(self.settings)
            window = max(300.0, 4 * self.settings.ops.lag_sample_s)
            report = self._builder.build(window, fresh=[self._builder.sample()])
            data = collect(self.settings, self._builder, report)
        except Exception:
            if self._builder is not None:
                close_builder(self._builder)
                self._builder = None
            raise
        self._cached = (time.monotonic(), data)
        return data

    def close(self) -> None:
        from operations.lag.sampler import close_builder

        if self._builder is not None:
            close_builder(self._builder)
            self._builder = None
