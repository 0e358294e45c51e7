"""`walmart-sync shadow report` and the status page's shadow section: the trial's result.

A merchant running the sidecar in shadow mode beside Channel Manager or M2E Pro asks three things
before switching: what would it have sent, does Walmart today show something else (so the switch
would change what customers see), and how fast would it have been. The answers come from the state
store only, so the report costs no Walmart budget: what the client withheld
(``walmart_shadow_writes``, stores/shadow.py) and what the reconciler read back from Walmart
(``walmart_drift``; in shadow mode it judges every SKU, push/reconcile.py). A SKU without a drift
row after a full reconcile cycle shows what Commerce says; before one, it is "not read back yet".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymysql
from pydantic import BaseModel

from config import Settings
from plumbing.db import DbConnection

SKU_KINDS = ("quantity", "price", "listing")
ORDER_KINDS = ("order_import", "acknowledge", "ship", "cancel", "refund", "return_import", "return_refund")


class Held(BaseModel):
    """One withheld write: the value it carried, when it would have gone, how late that was."""

    value: str | None
    payload: str
    would_send_at: str
    latency_ms: int | None
    attempts: int
    released: bool


class SkuRow(BaseModel):
    sku: str
    would_send: dict[str, Held] = {}            # quantity / price / listing
    walmart: dict[str, str | None] = {}          # what Walmart shows where it differs (quantity, price)
    published: str | None = None                 # Walmart's publishedStatus when the item is off the site
    differences: list[str] = []                  # the reconciler's reasons, in words


class OrderRow(BaseModel):
    key: str                                     # the PO (a return id for return kinds)
    would: dict[str, Held] = {}                  # order_import / acknowledge / ship / ...


class ShadowReport(BaseModel):
    mode: str
    generated_at: str
    walmart_read_back: str                       # when the reconciler last finished a whole cycle, or why not
    summary: dict[str, dict[str, Any]] = {}      # per kind: held_back, released, latency p50/p95/max (ms)
    skus: list[SkuRow] = []
    orders: list[OrderRow] = []


def _query(conn: DbConnection, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    except pymysql.err.ProgrammingError as exc:
        if exc.args and exc.args[0] == 1146:  # never in shadow mode, or the reconciler never ran
            return []
        raise


def _at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(sep=" ", timespec="seconds")


def _in(values: list[str]) -> str:
    return ", ".join(["%s"] * len(values))


def _summary(state: DbConnection) -> dict[str, dict[str, Any]]:
    """Per kind over the whole table: held back, released, and the latency percentiles (ms)."""
    summary: dict[str, dict[str, Any]] = {}
    for kind, pending, count in _query(state, "SELECT kind, released_epoch IS NULL, COUNT(*) FROM walmart_shadow_writes "
                                              "GROUP BY kind, released_epoch IS NULL"):
        row = summary.setdefault(kind, {"held_back": 0, "released": 0})
        row["held_back" if pending else "released"] += int(count)
    for kind, timed, slowest in _query(state, "SELECT kind, COUNT(latency_ms), MAX(latency_ms) FROM walmart_shadow_writes "
                                              "WHERE latency_ms IS NOT NULL GROUP BY kind"):
        row = summary.setdefault(kind, {"held_back": 0, "released": 0})
        for name, share in (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95)):
            at = min(int(timed) - 1, int(int(timed) * share))
            found = _query(state, "SELECT latency_ms FROM walmart_shadow_writes WHERE kind = %s AND latency_ms IS NOT "
                                  "NULL ORDER BY latency_ms LIMIT 1 OFFSET %s", (kind, at))
            row[name] = int(found[0][0]) if found else None
        row["latency_max_ms"] = int(slowest)
    return summary


def build_report(settings: Settings, state: DbConnection, limit: int = 1000) -> ShadowReport:
    """The summary over everything withheld, then the first ``limit`` SKUs (by SKU) and the latest
    ``limit`` orders, each with what Walmart showed when the reconciler last read it."""
    sku_keys = [row[0] for row in _query(
        state, f"SELECT DISTINCT item_key FROM walmart_shadow_writes WHERE kind IN ({_in(list(SKU_KINDS))}) "
               "ORDER BY item_key LIMIT %s", (*SKU_KINDS, limit))]
    order_keys = [row[0] for row in _query(
        state, f"SELECT item_key, MAX(would_send_epoch) AS latest FROM walmart_shadow_writes WHERE kind NOT IN "
               f"({_in(list(SKU_KINDS))}) GROUP BY item_key ORDER BY latest DESC LIMIT %s", (*SKU_KINDS, limit))]
    skus: dict[str, SkuRow] = {key: SkuRow(sku=key) for key in sku_keys}
    orders: dict[str, OrderRow] = {key: OrderRow(key=key) for key in order_keys}
    rows = []
    for keys in (sku_keys, order_keys):
        if keys:
            rows += _query(state, "SELECT kind, item_key, value, payload, would_send_epoch, latency_ms, attempts, "
                                  f"released_epoch FROM walmart_shadow_writes WHERE item_key IN ({_in(keys)})", tuple(keys))
    for kind, key, value, payload, at, latency, attempts, released in rows:
        held = Held(value=value, payload=payload, would_send_at=_at(at), latency_ms=latency, attempts=attempts,
                    released=released is not None)
        if kind in SKU_KINDS and key in skus:
            skus[key].would_send[kind] = held
        elif kind not in SKU_KINDS and key in orders:
            orders[key].would[kind] = held
    if sku_keys:
        for kind, sku, walmart, reason in _query(
                state, f"SELECT kind, sku, walmart_value, reason FROM walmart_drift WHERE sku IN ({_in(sku_keys)}) "
                       "ORDER BY sku, kind", tuple(sku_keys)):
            row = skus[sku]
            if kind in ("quantity", "price"):
                row.walmart[kind] = walmart
            elif kind == "unpublished":
                row.published = walmart
            elif kind == "missing":
                row.published = "NOT LISTED"
            row.differences.append(f"{kind}: {reason}")
    cycles = _query(state, "SELECT MAX(last_cycle_at), MAX(last_slice_at) FROM walmart_reconcile_progress")
    last_cycle, last_slice = cycles[0] if cycles else (None, None)
    read_back = (f"whole catalogue compared, last finished {last_cycle.astimezone().isoformat(sep=' ', timespec='seconds')}"
                 if isinstance(last_cycle, datetime) else
                 "part of the catalogue compared so far" if isinstance(last_slice, datetime) else
                 "not read back yet (the reconciler has not run: reconcile.enabled)")
    return ShadowReport(mode=settings.walmart.mode, generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                        walmart_read_back=read_back, summary=_summary(state), skus=list(skus.values()),
                        orders=list(orders.values()))


def _ms(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value < 120_000 else f"{value / 60_000:.1f} min"


def walmart_shows(row: SkuRow, kind: str, compared: bool) -> str:
    if kind in row.walmart:
        return row.walmart[kind] or "nothing"
    return "same" if compared else "not read back"


def render_table(report: ShadowReport) -> str:
    """The CLI's table: a summary per kind, then one line per SKU and per order."""
    compared = report.walmart_read_back.startswith("whole")
    lines = [f"walmart.mode = {report.mode}; Walmart read back: {report.walmart_read_back}", ""]
    lines.append(f"{'what':<14}{'held back':>10}{'released':>10}{'latency p50':>13}{'p95':>10}{'max':>10}")
    for kind, counts in sorted(report.summary.items()):
        lines.append(f"{kind:<14}{counts['held_back']:>10}{counts['released']:>10}{_ms(counts.get('latency_p50_ms')):>13}"
                     f"{_ms(counts.get('latency_p95_ms')):>10}{_ms(counts.get('latency_max_ms')):>10}")
    if not report.summary:
        lines.append("nothing withheld yet")
    lines += ["", f"{'SKU':<20}{'qty: send':>10}{'Walmart':>10}{'price: send':>13}{'Walmart':>10}  "
                  f"{'published':<12}{'latency':>9}"]
    for row in report.skus:
        qty, price = row.would_send.get("quantity"), row.would_send.get("price")
        latency = max((h.latency_ms for h in row.would_send.values() if h.latency_ms is not None), default=None)
        lines.append(f"{row.sku:<20}{(qty.value if qty else '-') or '-':>10}"
                     f"{walmart_shows(row, 'quantity', compared) if qty or 'quantity' in row.walmart else '-':>10}"
                     f"{(price.value if price else '-') or '-':>13}"
                     f"{walmart_shows(row, 'price', compared) if price or 'price' in row.walmart else '-':>10}  "
                     f"{row.published or ('PUBLISHED' if compared else '-'):<12}{_ms(latency):>9}")
    if report.orders:
        lines += ["", f"{'Walmart PO / return':<22}{'would':<40}{'latency':>9}"]
        for order in report.orders:
            latency = max((h.latency_ms for h in order.would.values() if h.latency_ms is not None), default=None)
            doing = ", ".join(f"{kind}{' (' + h.value + ')' if h.value else ''}{' [released]' if h.released else ''}"
                              for kind, h in sorted(order.would.items()))
            lines.append(f"{order.key:<22}{doing:<40}{_ms(latency):>9}")
    return "\n".join(lines)
