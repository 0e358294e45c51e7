"""The worker loop in shadow mode: a handler whose Walmart write the client withheld
(WalmartWritesOff) has done its record. Without this the classifier called it a bug and stopped the
worker, and a dead letter would have been wrong too (the old integration is doing the writing).
The loop is the real one, on the fakes of test_loop_commits."""

from __future__ import annotations

from sync_workers.runtime.loop import DeadLetter, Record
from sync_workers.walmart.errors import WalmartWritesOff
from tests.unit.sync_workers.runtime.test_loop_commits import (  # noqa: F401 (run_loop is a fixture)
    TP,
    FakeConsumer,
    FakeProducer,
    Handler,
    run_loop,
)


def test_a_withheld_write_is_a_handled_record_not_a_dead_letter_or_a_stop(run_loop) -> None:  # noqa: F811
    def withhold_offset_1(records: list[Record], _call: int) -> list[DeadLetter]:
        if any(r.offset == 1 for r in records):
            raise WalmartWritesOff("POST /v3/orders/1/shipping: not sent, walmart.mode is shadow")
        return []

    handler = Handler(withhold_offset_1)
    consumer, producer = FakeConsumer([[0, 1, 2]], []), FakeProducer()
    loop = run_loop(handler, consumer, producer)
    # the batch, then each record on its own so every record's write is recorded by the client
    assert handler.handled == [[0, 1, 2], [0], [1], [2]]
    assert producer.sent == [] and loop.dead_lettered == 0
    assert consumer.committed[TP] == 3
