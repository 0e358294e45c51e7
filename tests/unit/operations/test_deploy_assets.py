"""deploy/: the Grafana dashboard and the Prometheus alert rules load, are well formed, and use
only metrics walmart-sync defines (a renamed metric must not leave a dashboard blank or an alert
silent)."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import CollectorRegistry

from cdc_listener.metrics import ListenerMetrics
from plumbing.metrics import REGISTRY
from tests.support.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
DOCS = REPO_ROOT / "docs"
METRIC = re.compile(r"\bwalmart_sync_[a-z0-9_]+")


def defined_metrics() -> set[str]:
    """Every series name the sidecar exposes (counters' _total, histograms' _bucket/_sum/_count)."""
    listener = CollectorRegistry()
    ListenerMetrics(listener)
    names: set[str] = set()
    for registry in (REGISTRY, listener):
        for family in registry.collect():
            if family.type == "counter":
                names |= {family.name + "_total", family.name + "_created"}
            elif family.type == "histogram":
                names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count", "_created")}
            else:
                names.add(family.name)
    return names


def balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1, "{": 1, "}": -1, "[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_the_dashboard_loads_and_references_only_defined_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "walmart-sync.json").read_text())
    panels = dashboard["panels"]
    assert dashboard["uid"] and len(panels) >= 12
    assert len({p["id"] for p in panels}) == len(panels)
    used: set[str] = set()
    for panel in panels:
        assert panel["title"] and panel["gridPos"]["w"] > 0 and panel["targets"]
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert target["refId"] and balanced(target["expr"]), target
            used |= set(METRIC.findall(target["expr"]))
    unknown = used - defined_metrics()
    assert not unknown, f"the dashboard uses metrics walmart-sync does not define: {sorted(unknown)}"
    # every stage of the pipeline is on it
    for needed in ("walmart_sync_cdc_seconds_behind_source", "walmart_sync_consumer_lag_seconds",
                   "walmart_sync_stream_pending_age_seconds", "walmart_sync_walmart_requests_total",
                   "walmart_sync_dead_letter_queue_messages", "walmart_sync_order_import_delay_seconds_bucket"):
        assert needed in used


def test_the_alert_rules_load_and_reference_only_defined_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "walmart-sync-alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 10 and len({a["alert"] for a in alerts}) == len(alerts)
    defined = defined_metrics()
    runbook = (DOCS / "runbook.md").read_text() + (DOCS / "tuning-kafka-consumers.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
    for alert in alerts:
        assert re.fullmatch(r"[A-Z][A-Za-z]+", alert["alert"])
        assert balanced(alert["expr"]) and METRIC.search(alert["expr"]), alert["alert"]
        unknown = set(METRIC.findall(alert["expr"])) - defined
        assert not unknown, f"{alert['alert']} uses undefined metrics {sorted(unknown)}"
        assert alert["labels"]["severity"] in ("critical", "warning", "info")
        assert alert["annotations"]["summary"]
        anchor = alert["annotations"]["runbook"].split("#")[1]
        assert anchor in anchors, f"{alert['alert']}: the runbook has no section #{anchor}"
