"""What the importers (Walmart orders, Walmart returns -> Commerce) share: each record carries one
polled Walmart document; a document polled twice in a batch is imported once, newest first; a
document that cannot be imported is dead-lettered with its reason; Commerce, Walmart or the state
store being unavailable retries the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from domain.events import PolledDocument
from sync_workers.runtime.loop import DeadLetter, Record

# (reason, error code) when a document cannot be imported; None when it was (or needs nothing)
Outcome = tuple[str, str] | None


def import_documents(records: list[Record], field: str, id_key: str, code: str,
                     import_one: Callable[[str, dict[str, Any]], Outcome],
                     each: Callable[[Callable[[str, dict[str, Any]], Outcome], list[tuple[str, dict[str, Any]]]],
                                    list[Outcome]] | None = None) -> list[DeadLetter]:
    """``each``: how the batch's documents are run through ``import_one`` (the order importer's
    lanes), one after another by default; outcomes come back in the documents' order."""
    latest: dict[str, tuple[Record, dict[str, Any]]] = {}
    dead: list[DeadLetter] = []
    for record in records:
        try:
            raw = PolledDocument.model_validate(record.event or {}).document
        except ValidationError:
            raw = None
        if not isinstance(raw, dict) or not raw.get(id_key):
            dead.append(DeadLetter(record, f"no {field} with a {id_key} in the Walmart {field} event", code))
            continue
        latest[str(raw[id_key])] = (record, raw)  # polled twice: the newest wins
    documents = [(doc_id, raw) for doc_id, (_record, raw) in latest.items()]
    outcomes = each(import_one, documents) if each is not None else [import_one(d, raw) for d, raw in documents]
    for (record, _raw), refused in zip(latest.values(), outcomes, strict=True):
        if refused is not None:
            dead.append(DeadLetter(record, *refused))
    return dead
