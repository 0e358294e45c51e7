"""`walmart-sync dlq list|show|replay` against the real broker and state store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kafka import KafkaConsumer, KafkaProducer

from plumbing.kafka import send_acknowledged
from sync_workers.runtime.loop import DeadLetter, Record, WorkerLoop
from tests.support.paths import REPO_ROOT

REPO = str(REPO_ROOT)


class _Named:
    name = "inventory"
    families = ("stock",)


def _cli(config, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    return subprocess.run([sys.executable, "-m", "walmart_sync.cli", "--config", str(config), "dlq", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def test_list_show_and_replay(commerce_env) -> None:
    settings = commerce_env.settings()
    source = f"{settings.kafka.topic_prefix}.stock"
    loop = WorkerLoop(settings, _Named())
    producer = KafkaProducer(bootstrap_servers=commerce_env.endpoints.bootstrap_servers)
    letters = [DeadLetter(Record(source, 0, 41, b"WS-000001", b'{"family": "stock", "sku": "WS-000001"}',
                                 headers=[("event_id", b"0-1-9/0/0")]),
                          "Walmart refused the inventory update", "CONTENT_NOT_FOUND.GMP_INVENTORY_API",
                          ValueError("the item is not on Walmart")),
               DeadLetter(Record(source, 1, 7, b"junk", b"\x00junk"), "not a JSON change event", "MALFORMED_EVENT")]
    send_acknowledged(producer, [loop.letter_message(letter) for letter in letters])
    producer.close()

    listed = _cli(commerce_env.config_path, "list", "inventory", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["error_code"], r["source"]) for r in rows] == [
        ("CONTENT_NOT_FOUND.GMP_INVENTORY_API", f"{source}/0@41"), ("MALFORMED_EVENT", f"{source}/1@7")]
    shown = _cli(commerce_env.config_path, "show", "inventory", str(rows[0]["offset"]),
                 "--partition", str(rows[0]["partition"]))
    assert '"sku": "WS-000001"' in shown.stdout and "dlq.reason: Walmart refused" in shown.stdout
    # the record's own headers are kept, and the exception is named (Kafka Connect's context headers)
    assert "event_id: 0-1-9/0/0" in shown.stdout
    assert "dlq.exception.class: ValueError" in shown.stdout
    assert "dlq.exception.message: the item is not on Walmart" in shown.stdout

    first = _cli(commerce_env.config_path, "replay", "inventory")
    assert "replayed 2, skipped 0" in first.stdout, first.stderr
    assert "replayed 0, skipped 2" in _cli(commerce_env.config_path, "replay", "inventory").stdout
    assert "replayed 2" in _cli(commerce_env.config_path, "replay", "inventory", "--force").stdout
    consumer = KafkaConsumer(source, bootstrap_servers=commerce_env.endpoints.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    replayed = [(m.key, m.value) for m in consumer if dict(m.headers).get("dlq.replayed_from")]
    consumer.close()
    assert sorted(replayed) == sorted([(b"WS-000001", b'{"family": "stock", "sku": "WS-000001"}'),
                                       (b"junk", b"\x00junk")] * 2)


def test_resync_with_no_stream_resyncs_everything(commerce_env) -> None:
    """`walmart-sync resync` is the runbook's recovery command; it exited 2 (invalid choice: [])."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC_")}
    result = subprocess.run([sys.executable, "-m", "walmart_sync.cli", "--config", str(commerce_env.config_path),
                             "resync"], capture_output=True, text=True, env=env, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "inventory:" in result.stdout and "price:" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "walmart_sync.cli", "--config", str(commerce_env.config_path),
                          "resync", "shipments"], capture_output=True, text=True, env=env, timeout=60, cwd=REPO)
    assert bad.returncode == 2 and "unknown stream(s) shipments" in bad.stderr
