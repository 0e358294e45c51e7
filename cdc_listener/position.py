"""Binlog positions, how a start point is named, and the errors about them.

A position is where the *next* transaction starts (file + offset), plus the GTID state at that
point when the server has GTIDs. Positions are only ever taken at transaction boundaries, so
resuming never splits a transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from cdc_listener.gtid import flavour_of

_FILE_POS = re.compile(r"^(?P<file>[^:\s]+):(?P<pos>\d+)$")


class BinlogPosition(BaseModel):
    model_config = ConfigDict(frozen=True)

    log_file: str
    log_pos: int
    gtid: str | None = None

    def __str__(self) -> str:
        return f"{self.log_file}:{self.log_pos}" + (f" (gtid {self.gtid})" if self.gtid else "")


@dataclass(frozen=True)
class StartSpec:
    """Where ``listen --from`` asks to start."""

    kind: Literal["checkpoint", "current", "position", "gtid"]
    position: BinlogPosition | None = None
    gtid: str | None = None


def parse_start(spec: str | None) -> StartSpec:
    """``None``/``checkpoint``, ``current``, ``FILE:POS`` or ``gtid:D-S-N[,D-S-N]``."""
    if spec in (None, "", "checkpoint"):
        return StartSpec("checkpoint")
    if spec == "current":
        return StartSpec("current")
    if spec.startswith("gtid:"):
        gtid = spec.removeprefix("gtid:")
        if flavour_of(gtid) is None:
            raise ValueError(f"--from gtid:{gtid}: expected a MariaDB GTID position (gtid:0-1-1234) or a MySQL "
                             "GTID set (gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77)")
        return StartSpec("gtid", gtid=gtid)
    match = _FILE_POS.match(spec)
    if match:
        return StartSpec("position", BinlogPosition(log_file=match["file"], log_pos=int(match["pos"])))
    raise ValueError(f"--from {spec!r}: use checkpoint, current, FILE:POS (e.g. binlog.000042:4) "
                     "or gtid:DOMAIN-SERVER-SEQ")


class ListenerError(RuntimeError):
    """A condition the listener cannot continue from; the message says what to do."""


class KafkaUnavailable(ListenerError):
    """Kafka did not acknowledge events (a broker down or frozen past the delivery timeout, too few
    in-sync replicas), or the publisher process is gone. Nothing after the checkpoint is lost: the
    active listener publishes again from it."""


class PurgedBinlogError(ListenerError):
    def __init__(self, position: BinlogPosition, oldest: str | None):
        self.position, self.oldest = position, oldest
        super().__init__(
            f"the checkpoint {position} points into binlog file {position.log_file}, which the "
            f"server no longer has (oldest available: {oldest or 'none'}). Changes in between are "
            "lost to the binlog. Recover with: `walmart-sync listen --from current` (starts at the "
            "end of the binlog and marks a full resync as due), then run a full inventory and "
            "price resync; raise binlog_expire_logs_seconds so the binlog outlives the longest "
            "sidecar outage."
        )
