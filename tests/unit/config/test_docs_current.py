"""Generated documentation and the shipped example stay true to the code."""

from __future__ import annotations

from config import load_settings
from config.reference import render
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


def test_configuration_reference_is_current() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == render(), "docs/configuration.md is stale: run `make docs`"


def test_example_config_is_valid() -> None:
    settings = load_settings(REPO / "walmart-sync.example.toml", environ={})
    assert settings.kafka.replication_factor == 3
    assert settings.kafka.tuning_for("inventory").max_poll_records == 1000


def test_every_setting_section_is_documented_in_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for section in ("commerce_db", "state_store", "kafka", "walmart", "commerce_api", "mapping",
                    "cdc", "workers", "log", "ops"):
        assert f"`[{section}]`" in readme, section
