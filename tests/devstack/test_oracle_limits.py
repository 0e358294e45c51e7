"""The emulator's Walmart limits are the ones Walmart documents (the notes' section 3), and its
bucket and headers behave as the notes describe."""

from __future__ import annotations

import base64
import re
import uuid

from werkzeug.test import Client

from devstack.oracles.walmart_limits import (
    DAY,
    FEED_UPLOADS,
    HOUR,
    MB,
    MINUTE,
    WALMART_LIMITS,
    Bucket,
    Limit,
    rate_headers,
)
from devstack.walmart_emulator.app import WalmartEmulator
from tests.support.paths import SHARED_REFERENCE, requires_reference

NOTES = SHARED_REFERENCE / "walmart-api-notes.md"
UNITS = {"min": MINUTE, "hour": HOUR, "day": DAY}
FIGURE = re.compile(r"(\d+)/(min|hour|day)")


def _section_3() -> str:
    text = NOTES.read_text(encoding="utf-8")
    return text[text.index("## 3. Rate limits"):text.index("## 4.")]


def _table(section: str) -> dict[str, str]:
    """First cell (method + path) -> second cell (the limit text), bold marks dropped."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and not set(cells[0]) <= set("-") and cells[0] != "method + path":
            rows[cells[0]] = cells[1]
    return rows


FeedFigures = dict[str, tuple[int, float, float | None]]
FEED_LINE = re.compile(r"((?:`[^`]+`[^:`]*?)+):\s*(\d+)/(min|hour|day)(?:,\s*([\d.]+)\s*MB)?")


def _feed_uploads(section: str) -> FeedFigures:
    """feedType -> (capacity, seconds, MB) from the "Feed uploads" list."""
    text = section[section.index("Feed uploads"):section.index("Sandbox")]
    found = {}
    for names, count, unit, size in FEED_LINE.findall(text):
        for name in re.findall(r"`([^`]+)`", names):
            found[name] = (int(count), UNITS[unit], float(size) if size else None)
    return found


def _expected(limit: Limit, rows: dict[str, str], feeds: FeedFigures) -> tuple[int, float]:
    if limit.source.startswith("feedType="):
        capacity, seconds, _size = feeds[limit.source.removeprefix("feedType=")]
        return capacity, seconds
    text = rows[limit.source]
    if limit.when:
        match = re.search(rf"(\d+)/(min|hour|day) {re.escape(limit.when)}", text)
        assert match, f"{limit.source}: no figure {limit.when!r} in {text!r}"
    else:
        match = FIGURE.search(text)
        assert match, f"{limit.source}: no figure in {text!r}"
    return int(match.group(1)), UNITS[match.group(2)]


@requires_reference(NOTES)
def test_every_emulator_limit_is_the_notes_figure() -> None:
    section = _section_3()
    rows, feeds = _table(section), _feed_uploads(section)
    assert rows and feeds, "the notes' table and feed list were not found"
    ours = {key: (limit.capacity, limit.per_seconds) for key, limit in WALMART_LIMITS.items()}
    notes = {key: _expected(limit, rows, feeds) for key, limit in WALMART_LIMITS.items()}
    assert ours == notes


@requires_reference(NOTES)
def test_feed_buckets_and_file_sizes_are_the_notes() -> None:
    section = _section_3()
    feeds = _feed_uploads(section)
    price_row = _table(section)["POST /v3/feeds price (legacy) / PRICE_AND_PROMOTION / bulk promo"]
    for feed_type, (bucket, max_bytes) in FEED_UPLOADS.items():
        if feed_type == "price":
            assert WALMART_LIMITS[bucket].source.startswith("POST /v3/feeds price")
            assert f"price file ≤{max_bytes // MB} MB" in price_row
            continue
        assert WALMART_LIMITS[bucket].source == f"feedType={feed_type}"
        assert feeds[feed_type][2] == max_bytes / MB, feed_type


def test_the_bucket_refills_gradually_and_reports_walmarts_headers() -> None:
    """100/hour is a token every 36 s, not 100 at the top of the hour; the headers say how many
    are left and when the next one comes (epoch ms)."""
    now = [1000.0]
    bucket = Bucket(Limit(100, HOUR), clock=lambda: now[0])
    assert all(bucket.take() for _ in range(100)) and not bucket.take()
    headers = rate_headers(bucket, wall_clock_s=1_700_000_000.0)
    assert headers == {"x-current-token-count": "0", "x-next-replenishment-time": str(1_700_000_036_000)}
    now[0] += 35.9
    assert not bucket.take()
    now[0] += 0.2
    assert bucket.take() and bucket.whole_tokens() == 0
    now[0] += 10 * HOUR
    assert bucket.whole_tokens() == 100 and bucket.seconds_to_next_token() == 0.0
    scaled = Bucket(Limit(10, HOUR), clock=lambda: now[0], time_scale=60.0)  # an hour's refill in a minute
    assert all(scaled.take() for _ in range(10)) and round(scaled.seconds_to_next_token(), 6) == 6.0


def test_the_emulator_meters_walmarts_lower_figures_for_filtered_item_reads() -> None:
    """An item GET with query parameters, and GET /v3/items with filters, are 60/min (notes
    section 3), in buckets of their own: the plain calls keep 900/min and 300/min."""
    app = WalmartEmulator()
    app.seed_items("local-client", ["WS-000001"])
    client = Client(app)

    def headers(**extra: str) -> dict[str, str]:
        return {"WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "WM_SVC.NAME": "Walmart Marketplace",
                "Accept": "application/json", **extra}

    basic = base64.b64encode(b"local-client:local-secret").decode()
    token = client.post("/v3/token", data={"grant_type": "client_credentials"},
                        headers=headers(Authorization=f"Basic {basic}")).json["access_token"]
    auth = {"WM_SEC.ACCESS_TOKEN": token}
    with_query = [client.get("/v3/items/WS-000001?productIdType=SKU", headers=headers(**auth)).status_code
                  for _ in range(61)]
    assert with_query == [200] * 60 + [429]
    assert client.get("/v3/items/WS-000001", headers=headers(**auth)).status_code == 200
    filtered = [client.get("/v3/items?sku=WS-000001", headers=headers(**auth)).status_code for _ in range(61)]
    assert filtered == [200] * 60 + [429]
    assert client.get("/v3/items?limit=10&nextCursor=*", headers=headers(**auth)).status_code == 200
    assert dict(app.seller("local-client").throttled) == {"item_with_query": 1, "items_with_filters": 1}
