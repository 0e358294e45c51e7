"""The status page (GET /status on the ops endpoint), for support staff first.

At the top, one line per flow (inventory, price, orders in, shipments/cancellations/refunds out,
returns) in plain words: is it keeping up, how fresh is what Walmart and Commerce said, and does
anything need a person. Then what needs one: orders near Walmart's deadlines (a refused one with
its reason), dead letters with a replay button (token-protected, asked to confirm, then re-published
to the topic they came from, as `walmart-sync dlq replay` does), and what the reconciler found
Walmart showing unlike Commerce. A search box answers "SKU X?" and "PO Y?" with the same lookups as
`walmart-sync sku` and `walmart-sync order`. The engineer's per-partition view is one click down
(/status/detail): the same report `walmart-sync lag` prints, with trends, components and errors.
Every time carries its timezone. Plain server-rendered HTML: no scripts, no external assets.
"""

from __future__ import annotations

import html
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from config import Settings
from operations.lag.report import AtRiskOrder, LagReport, ReportBuilder, StageRow, overall
from operations.shadow_report import ShadowReport, build_report, walmart_shows

REFRESH_S = 5


class ComponentRow(BaseModel):
    component: str
    last_success: str | None
    last_error_at: str | None
    last_error: str | None
    recent_errors: list[str] = []


class LetterRow(BaseModel):
    worker: str
    partition: int = 0
    offset: int = 0
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


class FlowRow(BaseModel):
    """One line of the page's top: a flow in plain words."""

    flow: str       # inventory, price, orders_in, orders_out, returns
    label: str
    state: str      # ok, behind, needs a person, not running
    sentence: str   # what a person reads
    commerce: str   # how fresh what Commerce said is
    walmart: str    # how fresh what Walmart said is


class DriftRow(BaseModel):
    kind: str
    sku: str
    commerce_value: str | None
    walmart_value: str | None
    reason: str
    action: str
    since: str | None


class StatusData(BaseModel):
    report: LagReport
    overall: str
    components: list[ComponentRow]
    letters: list[LetterRow]
    orders: list[OrderRow]
    returns: list[ReturnRow]
    flows: list[FlowRow] = []
    at_risk: list[AtRiskOrder] = []
    drift: list[DriftRow] = []
    shadow: ShadowReport | None = None  # shown in shadow mode, and after it while entries remain


def _rows(builder: ReportBuilder, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return builder.query(builder.state, sql, args)


def _stamp(value: Any) -> str | None:
    """A state store time (naive, the session's zone, which is this host's) with its offset."""
    return value.astimezone().isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else None


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
                letters.append(LetterRow(worker=worker, partition=letter.partition, offset=letter.offset,
                                         failed_at=summary["failed_at"],
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
    drift = [DriftRow(kind=kind, sku=sku, commerce_value=commerce, walmart_value=walmart, reason=reason, action=action,
                      since=_stamp(since))
             for kind, sku, commerce, walmart, reason, action, since in _rows(
                 builder, "SELECT kind, sku, commerce_value, walmart_value, reason, action, first_seen_at FROM "
                          "walmart_drift ORDER BY FIELD(kind, 'unpublished', 'missing', 'quantity', 'price'), "
                          "first_seen_at LIMIT 100")]
    at_risk = builder.at_risk_orders()
    trial: ShadowReport | None = build_report(settings, builder.state, limit=50)
    if settings.walmart.mode != "shadow" and trial is not None and not trial.summary:
        trial = None
    return StatusData(report=report, overall=overall(report), components=components, letters=letters,
                      orders=orders, returns=returns, flows=flows(report, at_risk), at_risk=at_risk, drift=drift,
                      shadow=trial)


# the support view ------------------------------------------------------------------------------------

def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def flows(report: LagReport, at_risk: list[AtRiskOrder]) -> list[FlowRow]:
    """The report's stages, read per flow as a person asks: is it keeping up, and does anything need me?"""
    stages = {s.stage: s for s in report.stages}
    absent = set(report.absent_groups)

    def stage(name: str) -> StageRow | None:
        return stages.get(name)

    binlog = stage("binlog")
    binlog_ok = binlog is not None and not binlog.over
    commerce_seen = ("no listener has run yet" if binlog is None else
                     "changes read as they happen" if binlog_ok and not binlog.lag_seconds else
                     f"changes read {binlog.lag_seconds or 0:.0f} s behind" if binlog_ok else
                     f"changes NOT being read: {binlog.detail}")
    drift = stage("drift")
    drift_counts = drift.counts if drift is not None else {}
    rows = []
    for flow, label, kind in (("inventory", "Inventory (Commerce stock -> Walmart)", "quantity"),
                              ("price", "Price (Commerce price -> Walmart)", "price")):
        group, walmart, letters = stage(f"group:{flow}"), stage(f"walmart:{flow}"), stage(f"dlq:{flow}")
        person = []
        if letters is not None and letters.lag_messages:
            person.append(f"{letters.lag_messages} dead letter(s)")
        if flow == "inventory" and (drift_counts.get("unpublished") or drift_counts.get("missing")):
            person.append(f"{drift_counts.get('unpublished', 0)} item(s) unpublished by Walmart, "
                          f"{drift_counts.get('missing', 0)} not listed")
        differs = drift_counts.get(kind, 0)
        behind = [x for x in (binlog, group, walmart) if x is not None and x.over]
        if person:
            state, sentence = "needs a person", "; ".join(person) + " (see below)"
        elif group is None and flow in absent:
            state, sentence = "not running", f"the {flow} worker is not running: Walmart does not follow Commerce"
        elif behind:
            state, sentence = "behind", "behind: " + "; ".join(f"{x.label} {x.status}" for x in behind)
        else:
            state, sentence = "ok", f"Walmart follows Commerce's {kind}"
        if differs:
            sentence += f"; {differs} SKU(s) where Walmart showed another {kind}, being pushed again"
        waiting = walmart.counts.get("waiting", 0) if walmart else 0
        if waiting:
            sentence += f"; {waiting} waiting for Walmart to take them"
        walmart_seen = ("nothing pending on Walmart" if walmart is not None and not walmart.lag_seconds else
                        f"oldest change unconfirmed for {walmart.lag_seconds:.0f} s" if walmart is not None else
                        "nothing sent yet")
        if drift is not None and drift.lag_seconds is not None:
            walmart_seen += f"; read back {_ago(drift.lag_seconds)}"
        rows.append(FlowRow(flow=flow, label=label, state=state, sentence=sentence, commerce=commerce_seen,
                            walmart=walmart_seen))

    poll, orders, importer, letters = stage("poll:orders"), stage("orders"), stage("group:order_import"), \
        stage("dlq:order_import")
    person = []
    risky = list(at_risk)
    if risky:
        late = sum(1 for o in risky if o.state == "late")
        person.append(f"{len({o.purchase_order_id for o in risky})} order(s) near Walmart's deadlines"
                      + (f", {late} past one" if late else ""))
    if letters is not None and letters.lag_messages:
        person.append(f"{letters.lag_messages} order(s) dead-lettered")
    if person:
        state, sentence = "needs a person", "; ".join(person) + " (see below)" + (
            "; no order poller has run" if poll is None and importer is None else "")
    elif poll is None and importer is None:
        state, sentence = "not running", "no order poller has run: Walmart orders are not imported"
    elif any(x is not None and x.over for x in (poll, orders, importer)):
        state, sentence = "behind", "Walmart orders reach Commerce late: " + (orders.detail if orders else "")
    else:
        state, sentence = "ok", "Walmart orders reach Commerce and are acknowledged"
    rows.append(FlowRow(flow="orders_in", label="Orders in (Walmart -> Commerce)", state=state, sentence=sentence,
                        commerce=orders.detail.split(";")[0] if orders else "no order imported yet",
                        walmart=f"polled {_ago(poll.lag_seconds)}" if poll else "never polled"))

    out = [(w, stage(f"group:{w}"), stage(f"walmart:{w}"), stage(f"dlq:{w}")) for w in ("shipment", "cancellation",
                                                                                         "refund")]
    person = [f"{d.lag_messages} {w} dead letter(s)" for w, _g, _s, d in out if d is not None and d.lag_messages]
    late_stages = [x.label for _w, g, st, _d in out for x in (g, st) if x is not None and x.over]
    missing = [w for w, g, _s, _d in out if g is None and w in absent]
    if person:
        state, sentence = "needs a person", "; ".join(person) + " (see below)"
    elif len(missing) == len(out):
        state, sentence = "not running", "no shipment, cancellation or refund worker is running"
    elif late_stages:
        state, sentence = "behind", "behind: " + ", ".join(late_stages)
    else:
        state, sentence = "ok", "Commerce shipments, cancellations and refunds reach Walmart" + (
            f" (not running: {', '.join(missing)})" if missing else "")
    pending = max((st.lag_seconds or 0.0 for _w, _g, st, _d in out if st is not None), default=None)
    rows.append(FlowRow(flow="orders_out", label="Shipments, cancellations, refunds out (Commerce -> Walmart)",
                        state=state, sentence=sentence, commerce=commerce_seen,
                        walmart="nothing sent yet" if pending is None else "nothing pending on Walmart" if not pending
                        else f"oldest unconfirmed for {pending:.0f} s"))

    poll, importer, letters = stage("poll:returns"), stage("group:return_import"), stage("dlq:return_import")
    if poll is None and importer is None:
        state, sentence = "not running", "no return poller has run: Walmart returns are not recorded"
    elif letters is not None and letters.lag_messages:
        state, sentence = "needs a person", f"{letters.lag_messages} return(s) dead-lettered (see below)"
    elif any(x is not None and x.over for x in (poll, importer)):
        state, sentence = "behind", "Walmart returns reach Commerce late"
    else:
        state, sentence = "ok", "Walmart returns reach Commerce"
    rows.append(FlowRow(flow="returns", label="Returns (Walmart -> Commerce)", state=state, sentence=sentence,
                        commerce="credit memos as returns complete",
                        walmart=f"polled {_ago(poll.lag_seconds)}" if poll else "never polled"))
    return rows


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


def _latency(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.1f} s" if ms < 120_000 else f"{ms / 60_000:.1f} min"


def _slowest(held: dict[str, Any]) -> int | None:
    return max((h.latency_ms for h in held.values() if h.latency_ms is not None), default=None)


def render_shadow(shadow: ShadowReport | None, token: str = "") -> str:
    """Shadow mode's section: held back per kind with its latency, then per SKU and per order."""
    if shadow is None:
        return ""
    compared = shadow.walmart_read_back.startswith("whole")
    kinds = "".join(
        f'<tr data-shadow-kind="{_e(kind)}"><td>{_e(kind)}</td><td class="num held">{row["held_back"]}</td>'
        f'<td class="num">{row["released"]}</td><td class="num">{_e(_latency(row.get("latency_p50_ms")))}</td>'
        f'<td class="num">{_e(_latency(row.get("latency_max_ms")))}</td></tr>'
        for kind, row in sorted(shadow.summary.items())) or '<tr><td colspan="5">nothing withheld yet</td></tr>'
    skus = "".join(
        f'<tr data-shadow-sku="{_e(r.sku)}"><td><a href="/status/lookup{_q(token, q=r.sku)}">{_e(r.sku)}</a></td>'
        f'<td class="qty">{_e((r.would_send["quantity"].value if "quantity" in r.would_send else "-") or "-")}</td>'
        f'<td class="qty-walmart">{_e(walmart_shows(r, "quantity", compared))}</td>'
        f'<td class="price">{_e((r.would_send["price"].value if "price" in r.would_send else "-") or "-")}</td>'
        f'<td class="price-walmart">{_e(walmart_shows(r, "price", compared))}</td>'
        f'<td class="published">{_e(r.published or ("PUBLISHED" if compared else "-"))}</td>'
        f'<td class="num">{_e(_latency(_slowest(r.would_send)))}</td></tr>'
        for r in shadow.skus) or '<tr><td colspan="7">no SKU yet</td></tr>'
    orders = "".join(
        f'<tr data-shadow-order="{_e(o.key)}"><td>{_e(o.key)}</td>'
        f'<td>{_e(", ".join(sorted(o.would)))}</td>'
        f'<td class="num">{_e(_latency(_slowest(o.would)))}</td></tr>'
        for o in shadow.orders) or '<tr><td colspan="3">no Walmart order yet</td></tr>'
    live = ("Shadow mode: nothing is written to Walmart and no Walmart order becomes a Commerce order; below is what "
            "would have been." if shadow.mode == "shadow" else
            "Live now; what shadow mode held back is being sent (released).")
    return f"""<h2 id="shadow-mode">Shadow mode: what would have been sent</h2>
<p class="small">{_e(live)} Walmart read back: {_e(shadow.walmart_read_back)}. The whole list:
<code>walmart-sync shadow report</code>.</p>
<table id="shadow-kinds"><thead><tr><th>what</th><th>held back</th><th>released</th><th>latency p50</th>
<th>max</th></tr></thead><tbody>{kinds}</tbody></table>
<table id="shadow-skus"><thead><tr><th>SKU</th><th>quantity: would send</th><th>Walmart shows</th>
<th>price: would send</th><th>Walmart shows</th><th>published</th><th>latency</th></tr></thead><tbody>{skus}</tbody></table>
<table id="shadow-orders"><thead><tr><th>Walmart PO / return</th><th>would</th><th>latency</th></tr></thead>
<tbody>{orders}</tbody></table>"""


def render_detail(data: StatusData, token: str = "") -> str:
    """The engineer's view: every stage per partition, components and their errors."""
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
<title>walmart-sync detail: {_e(data.overall)}</title>
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
<p><a id="support-view" href="/status{_q(token)}">&larr; support view</a></p>
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
{render_shadow(data.shadow, token)}
</body></html>"""


STYLE = """
body { font: 15px system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; color: #1d2329; padding: 0 1em; }
h1 { font-size: 1.35em; } h2 { font-size: 1.1em; margin-top: 1.8em; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #dde2e6; padding: 6px 8px;
text-align: left; vertical-align: top; } th { font-weight: 600; color: #57606a; }
.state { font-weight: 600; white-space: nowrap; } .st-ok .state { color: #1a7f37; } .st-behind .state { color: #9a6700; }
.st-needs .state, .st-not .state, .late { color: #cf222e; } .at_risk { color: #9a6700; }
.small { color: #57606a; font-size: 0.9em; } form.inline { display: inline; margin: 0; }
#search input[type=search] { width: 22em; padding: 5px; font-size: 1em; } button { padding: 4px 12px; font-size: 1em; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; white-space: pre-wrap; }
"""


def _q(token: str, **params: Any) -> str:
    """A query string carrying the page token (every page behind it needs it) and ``params``."""
    items = ([("token", token)] if token else []) + [(k, str(v)) for k, v in params.items()]
    return ("?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in items)) if items else ""


def _token_field(token: str) -> str:
    return f'<input type="hidden" name="token" value="{_e(token)}">' if token else ""


def _search_box(token: str, query: str = "") -> str:
    return (f'<form id="search" method="get" action="/status/lookup">{_token_field(token)}'
            f'<label for="q">SKU or Walmart PO (or Commerce order number)</label> '
            f'<input type="search" id="q" name="q" value="{_e(query)}" placeholder="e.g. WS-000123 or 1000001234" '
            f'required> <button id="search-button" type="submit">Look up</button></form>')


def _page(title: str, body: str, refresh_s: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">{refresh}<title>{_e(title)}</title>'
            f'<style>{STYLE}</style></head><body>{body}</body></html>')


def _left(seconds: float) -> str:
    hours = abs(seconds) / 3600
    amount = f"{hours:.1f} h" if hours >= 1 else f"{abs(seconds) / 60:.0f} min"
    return f"{amount} late" if seconds < 0 else f"{amount} left"


DEADLINE_WORDS = {"acknowledge": "acknowledge (4 h from the order)", "ship_by": "ship by (estimated ship date)",
                  "auto_cancel": "Walmart auto-cancels (ship-by + 4 days)"}


def render(data: StatusData, token: str = "") -> str:
    """The support view: flows in plain words, then what needs a person, the search box on top."""
    needs = [f for f in data.flows if f.state != "ok"]
    headline = ("Everything is flowing; nothing needs a person." if not needs else
                "; ".join(f"{f.label.split(' (')[0]}: {f.state}" for f in needs) + ".")
    if data.shadow is not None and data.shadow.mode == "shadow":
        headline = "Shadow mode (nothing is written to Walmart). " + headline
    flows_html = "".join(
        f'<tr data-flow="{_e(f.flow)}" class="st-{_e(f.state.split()[0])}"><td>{_e(f.label)}</td>'
        f'<td class="state">{_e(f.state)}</td><td class="sentence">{_e(f.sentence)}</td>'
        f'<td class="small">Commerce: {_e(f.commerce)}<br>Walmart: {_e(f.walmart)}</td></tr>' for f in data.flows)
    risk_html = "".join(
        f'<tr data-risk="{_e(o.purchase_order_id)}/{_e(o.deadline)}"><td><a href="/status/lookup'
        f'{_q(token, q=o.purchase_order_id)}">{_e(o.purchase_order_id)}</a></td>'
        f'<td>{_e(o.commerce_order or "not in Commerce")}</td>'
        f'<td>{_e(DEADLINE_WORDS.get(o.deadline, o.deadline))}</td><td class="{_e(o.state)}">{_e(_left(o.left_s))}</td>'
        f'<td>{_e(o.due_at)}</td><td class="reason">{_e(o.reason or o.status)}</td></tr>'
        for o in data.at_risk) or '<tr><td colspan="6">no order near a Walmart deadline</td></tr>'
    letters_html = "".join(
        f'<tr data-letter="{_e(l.worker)}/{l.partition}/{l.offset}"><td>{_e(l.worker)}</td><td>{_e(l.failed_at)}</td>'
        f'<td>{_e(l.key)}</td><td class="reason">{_e(l.reason)}</td><td>'
        f'<form class="inline" method="post" action="/status/replay">{_token_field(token)}'
        f'<input type="hidden" name="worker" value="{_e(l.worker)}"><input type="hidden" name="partition" '
        f'value="{l.partition}"><input type="hidden" name="offset" value="{l.offset}">'
        f'<button type="submit" class="replay">Replay&hellip;</button></form></td></tr>'
        for l in data.letters) or '<tr><td colspan="5">no dead letters</td></tr>'
    drift_html = "".join(
        f'<tr data-drift="{_e(d.kind)}/{_e(d.sku)}"><td><a href="/status/lookup{_q(token, q=d.sku)}">{_e(d.sku)}</a></td>'
        f'<td class="kind">{_e(d.kind)}</td><td>{_e(d.commerce_value or "-")}</td><td>{_e(d.walmart_value or "-")}</td>'
        f'<td class="reason">{_e(d.reason)}</td><td class="action">{_e(d.action)}</td><td>{_e(d.since)}</td></tr>'
        for d in data.drift) or '<tr><td colspan="7">Walmart shows what Commerce says, as far as read back</td></tr>'
    body = f"""<h1>walmart-sync: <span id="headline">{_e(headline)}</span></h1>
{_search_box(token)}
<table id="flows"><thead><tr><th>flow</th><th>state</th><th>in plain words</th><th>how fresh</th></tr></thead>
<tbody>{flows_html}</tbody></table>
<h2>Orders near Walmart's deadlines</h2>
<table id="at-risk"><thead><tr><th>Walmart PO</th><th>Commerce order</th><th>deadline</th><th>time</th><th>due</th>
<th>why / status</th></tr></thead><tbody>{risk_html}</tbody></table>
<h2>Dead letters: changes that could not be applied</h2>
<p class="small">Fix the cause first (the reason says it), then replay: the record goes back to its topic and the
worker handles it again.</p>
<table id="letters"><thead><tr><th>worker</th><th>failed at</th><th>key</th><th>reason</th><th></th></tr></thead>
<tbody>{letters_html}</tbody></table>
<h2>Walmart shows something else</h2>
<table id="drift"><thead><tr><th>SKU</th><th>what</th><th>Commerce</th><th>Walmart</th><th>reason</th><th>done</th>
<th>since</th></tr></thead><tbody>{drift_html}</tbody></table>
{render_shadow(data.shadow, token)}
<p class="small">Generated {_e(data.report.generated_at)}; refreshes every {SUPPORT_REFRESH_S} s.
<a id="detail-link" href="/status/detail{_q(token)}">Engineer's detail (per stage and partition) &rarr;</a></p>"""
    return _page(f"walmart-sync: {headline}", body, SUPPORT_REFRESH_S)


SUPPORT_REFRESH_S = 30


def render_lookup(query: str, kind: str, text: str, token: str = "") -> str:
    title = {"sku": f"SKU {query}", "order": f"Walmart order {query}"}.get(kind, f"nothing found for {query}")
    body = (f'<p><a href="/status{_q(token)}">&larr; status</a></p>{_search_box(token, query)}'
            f'<h1 id="lookup-title">{_e(title)}</h1><pre id="lookup" data-kind="{_e(kind)}">{_e(text)}</pre>')
    return _page(title, body)


def render_confirm(worker: str, partition: int, offset: int, shown: str, token: str = "") -> str:
    body = (f'<p><a href="/status{_q(token)}">&larr; status (do not replay)</a></p>'
            f'<h1>Replay this dead letter of {_e(worker)}?</h1><p>It goes back to the topic it came from and the '
            f'{_e(worker)} worker handles it again. Replay only once its cause is fixed.</p>'
            f'<pre id="letter">{_e(shown)}</pre><form id="confirm" method="post" action="/status/replay">'
            f'{_token_field(token)}<input type="hidden" name="worker" value="{_e(worker)}">'
            f'<input type="hidden" name="partition" value="{partition}"><input type="hidden" name="offset" '
            f'value="{offset}"><input type="hidden" name="confirm" value="yes">'
            f'<button id="confirm-button" type="submit">Yes, replay it</button></form>')
    return _page(f"replay {worker} {partition}@{offset}?", body)


def render_message(title: str, message: str, token: str = "") -> str:
    body = (f'<p><a href="/status{_q(token)}">&larr; status</a></p><h1>{_e(title)}</h1>'
            f'<p id="message">{_e(message)}</p>')
    return _page(title, body)


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

    # the search box and the replay button ----------------------------------------------------------
    def lookup(self, query: str) -> tuple[str, str]:
        """(kind, text): ``order`` when the state store knows the query as a PO or Commerce order
        number, else ``sku``, answered by the CLI's own lookups (two Walmart reads at most)."""
        from operations.order_lookup import look_up_order
        from operations.order_lookup import render as render_order
        from operations.sku_lookup import look_up_sku
        from operations.sku_lookup import render as render_sku
        from plumbing.db import connect_commerce
        from sync_workers.stores.value_state import connect_state
        from sync_workers.walmart.client import WalmartClient

        query = query.strip()[:64]
        commerce, state = connect_commerce(self.settings), connect_state(self.settings)
        try:
            walmart = WalmartClient(self.settings.walmart, max_attempts=2)
            if look_up_order(query, commerce, state, None).purchase_order_id is not None:
                return "order", render_order(look_up_order(query, commerce, state, walmart))
            found = look_up_sku(self.settings, query, commerce, state, walmart)
            if not found.in_commerce:
                return "none", (f"{query} is neither a Walmart PO the sidecar has seen nor a Commerce order number; "
                                f"as a SKU:\n\n" + render_sku(found))
            return "sku", render_sku(found)
        finally:
            commerce.close()
            state.close()

    def letter(self, worker: str, partition: int, offset: int) -> Any:
        from sync_workers.runtime import dlq

        return next((x for x in dlq.read_letters(self.settings, worker)
                     if x.partition == partition and x.offset == offset), None)

    def show_letter(self, letter: Any) -> str:
        from sync_workers.runtime import dlq

        return dlq.show(letter)

    def replay(self, worker: str, letter: Any) -> tuple[int, int]:
        from sync_workers.runtime import dlq

        result = dlq.replay(self.settings, worker, [letter])
        self._cached = None  # the page shows the replay at once
        return result

    def close(self) -> None:
        from operations.lag.sampler import close_builder

        if self._builder is not None:
            close_builder(self._builder)
            self._builder = None
