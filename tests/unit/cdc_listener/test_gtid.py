"""GTID positions: MariaDB's per-domain position and MySQL's executed set, over real GTID strings
(no MySQL server runs here; these are the strings MySQL 8 writes in its binlog and gtid_executed)."""

from __future__ import annotations

import pytest

from cdc_listener.gtid import advance, flavour_of
from cdc_listener.position import parse_start
from cdc_listener.stream import BinlogSource
from config.settings import CommerceDatabaseSettings

UUID_A = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
UUID_B = "8c1c0b34-0f6f-11ee-8a55-0242ac120002"


@pytest.mark.parametrize(("text", "flavour"), [
    ("0-1-1234", "mariadb"), ("0-1-5,1-7-99", "mariadb"),
    (f"{UUID_A}:23", "mysql"), (f"{UUID_A}:1-5:7", "mysql"), (f"{UUID_A}:1-100,{UUID_B}:1-3", "mysql"),
    ("binlog.000001:4", None), ("", None), (UUID_A, None),
])
def test_a_mysql_gtid_is_not_taken_for_a_mariadb_one(text: str, flavour: str | None) -> None:
    assert flavour_of(text) == flavour


def test_mysql_positions_are_the_executed_set_not_the_last_gtid() -> None:
    state = advance(None, f"{UUID_A}:1")
    for n in range(2, 6):
        state = advance(state, f"{UUID_A}:{n}")
    assert state == f"{UUID_A}:1-5"
    state = advance(state, f"{UUID_B}:40")  # a failover: the new source's transactions join the set
    assert state == f"{UUID_A}:1-5,{UUID_B}:40"
    assert advance(state, f"{UUID_A}:3") == state  # a replayed transaction changes nothing
    assert advance(f"{UUID_A}:1-5", f"{UUID_A}:7") == f"{UUID_A}:1-5:7"


def test_mariadb_positions_keep_the_last_gtid_of_each_domain() -> None:
    assert advance("0-1-5,1-2-9", "0-1-6") == "0-1-6,1-2-9"
    assert advance(None, "2-1-1") == "2-1-1"


def test_listen_from_accepts_both_kinds() -> None:
    assert parse_start("gtid:0-1-1234").gtid == "0-1-1234"
    assert parse_start(f"gtid:{UUID_A}:1-77").gtid == f"{UUID_A}:1-77"
    with pytest.raises(ValueError, match="MySQL GTID set"):
        parse_start("gtid:somewhere")


@pytest.mark.parametrize(("gtid", "mariadb"), [("0-1-1234", True), (f"{UUID_A}:1-77", False)])
def test_the_stream_resumes_by_the_servers_own_kind_of_gtid(gtid: str, mariadb: bool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class Reader:
        def __init__(self, settings: dict[str, object], **kwargs: object):
            seen.update(kwargs)

    monkeypatch.setattr("cdc_listener.stream.BinLogStreamReader", Reader)
    source = BinlogSource(CommerceDatabaseSettings(password="x"), 1.0, 5.0, ("sales_order",), report_as="walmart-sync-x")
    source.start_at_gtid(gtid)
    source._open()
    assert seen["auto_position"] == gtid and seen["is_mariadb"] is mariadb
    assert seen["report_slave"] == "walmart-sync-x"
