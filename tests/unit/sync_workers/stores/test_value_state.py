"""The push workers' state: a per-node value (several ship nodes) fits, on new and on older schemas."""

from __future__ import annotations

from sync_workers.stores.value_state import ValueState, connect_state


def test_a_state_schema_of_the_first_release_is_widened_once_for_per_node_values(commerce_env) -> None:
    settings = commerce_env.settings()
    conn = connect_state(settings)
    with conn.cursor() as cur:  # as the first release made it
        cur.execute("ALTER TABLE walmart_values MODIFY COLUMN value VARCHAR(64) NOT NULL")
    conn = connect_state(settings)
    value = ",".join(f"{1000000001 + n:020d}=1234567" for n in range(8))  # 8 nodes, the most settings allow
    assert len(value) > 64
    ValueState(conn, "inventory").confirm({"WS-000001": value}, "single")
    assert ValueState(conn, "inventory").confirmed(["WS-000001"]) == {"WS-000001": value}
    with conn.cursor() as cur:
        cur.execute("SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = 'walmart_values' AND COLUMN_NAME = 'value'")
        assert cur.fetchone()[0] == 255
