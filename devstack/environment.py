"""A ready Commerce environment on the embedded stack: what the demo, tests and benchmarks share.

Builds the Commerce database of an edition, the sidecar's state schema and least-privilege user,
seeds it, and writes a walmart-sync TOML config pointing at all of it, so every consumer runs
the sidecar exactly as an operator would: through its settings.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import Settings, load_settings
from devstack.commerce_db import create_commerce_database, grant_sidecar_user
from devstack.commerce_schema.variants import Edition
from devstack.mariadb import MySqlEndpoint, free_port
from devstack.seed import SeedSummary, seed_commerce
from devstack.stack import StackEndpoints

SIDECAR_USER = "walmart_sync"


@dataclass
class CommerceEnvironment:
    endpoints: StackEndpoints
    edition: Edition
    commerce_db: str
    state_db: str
    sidecar: MySqlEndpoint
    config_path: Path
    seed: SeedSummary

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(self.config_path, overrides=overrides, environ={})

    def admin_connection(self, **kwargs: Any):
        return self.endpoints.mysql.connect(self.commerce_db, **kwargs)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_toml(path: Path, sections: dict[str, dict[str, Any]]) -> None:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)  # it holds passwords


def prepare_environment(
    endpoints: StackEndpoints,
    workdir: Path,
    edition: Edition = "open_source",
    products: int = 100,
    name: str = "magento",
    kafka_topic_prefix: str | None = None,
    push_skus: str = "all",
    composites: bool = False,
) -> CommerceEnvironment:
    """Create and seed ``name`` (Commerce) and ``<name>_sync`` (state) and write their config.

    ``push_skus`` is the workers' rule (``all`` here by default, ``matched`` in production);
    ``composites`` adds the seed's bundles and configurable (devstack/seed.py ``seed_composites``)."""
    state_db = f"{name}_sync"
    create_commerce_database(endpoints.mysql, name, edition)
    password = secrets.token_urlsafe(18)
    sidecar = grant_sidecar_user(endpoints.mysql, SIDECAR_USER, password, name, state_db)
    connection = endpoints.mysql.connect(name, autocommit=False)
    try:
        summary = seed_commerce(connection, edition, products, composites=composites)
    finally:
        connection.close()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{name}.toml"
    write_toml(config_path, {
        "commerce_db": {"host": sidecar.host, "port": sidecar.port, "user": SIDECAR_USER,
                        "password": password, "database": name, "edition": edition},
        "state_store": {"dsn": f"mysql://{SIDECAR_USER}:{password}@{sidecar.host}:{sidecar.port}/{state_db}"},
        "kafka": {"bootstrap_servers": endpoints.bootstrap_servers,
                  "topic_prefix": kafka_topic_prefix or f"walmart-sync-{name}", "partitions": 3},
        # The emulators (later issues) listen here; credentials are the emulators' own.
        "walmart": {"base_url": "http://127.0.0.1:18080", "client_id": "local-client",
                    "client_secret": secrets.token_urlsafe(18)},
        "commerce_api": {"base_url": "http://127.0.0.1:18081",
                         "token": secrets.token_urlsafe(24)},
        "mapping": {"website_code": "walmart_us", "website_id": 2, "store_id": 2, "stock_id": 2},
        # Tests of the push workers list their SKUs on the emulator directly; the listings tests
        # and the demo use listing management (matched), the production default.
        "workers": {"push_skus": push_skus},
        "ops": {"host": "127.0.0.1", "port": free_port()},
    })
    return CommerceEnvironment(endpoints, edition, name, state_db, sidecar, config_path, summary)
