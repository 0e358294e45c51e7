"""Settings: sources and their precedence, clear errors, masked secrets, the CLI's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings

SECRETS = {
    "db": "db-pass-9f3a1c",
    "dsn": "dsn-pass-77c2e1",
    "walmart": "wm-secret-5d0b42",
    "commerce": "commerce-token-1a9e33",
}

VALID_TOML = f"""
[commerce_db]
host = "db.internal"
password = "{SECRETS['db']}"
database = "magento"

[state_store]
dsn = "mysql://sync:{SECRETS['dsn']}@state.internal:3307/walmart_sync"

[kafka]
bootstrap_servers = ["k1:9092", "k2:9092"]
partitions = 6

[kafka.consumer_groups.inventory]
max_poll_records = 50

[walmart]
client_id = "client-123"
client_secret = "{SECRETS['walmart']}"

[commerce_api]
base_url = "https://shop.example.com"
token = "{SECRETS['commerce']}"

[mapping]
carrier_map = {{ ups = "UPS", dhl = "DHL Ecommerce - US" }}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "walmart-sync.toml"
    path.write_text(VALID_TOML)
    return path


def test_toml_file_loads_every_section(config_file: Path) -> None:
    settings = load_settings(config_file, environ={})
    assert settings.commerce_db.host == "db.internal"
    assert settings.commerce_db.port == 3306
    assert settings.state_store.parsed.host == "state.internal"
    assert settings.state_store.parsed.port == 3307
    assert settings.kafka.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.walmart.effective_base_url == "https://marketplace.walmartapis.com"
    assert settings.commerce_api.rest_url == "https://shop.example.com/rest/default/V1"
    assert settings.mapping.carrier_map["dhl"] == "DHL Ecommerce - US"


def test_precedence_cli_over_env_over_file(config_file: Path) -> None:
    env = {"WALMART_SYNC_KAFKA__PARTITIONS": "12", "WALMART_SYNC_COMMERCE_DB__HOST": "env-host"}
    settings = load_settings(config_file, overrides=["kafka.partitions=24"], environ=env)
    assert settings.kafka.partitions == 24  # CLI beats env and file
    assert settings.commerce_db.host == "env-host"  # env beats file
    assert settings.commerce_db.database == "magento"  # file beats default


def test_config_file_from_environment_and_comma_separated_servers(config_file: Path) -> None:
    env = {"WALMART_SYNC_CONFIG": str(config_file),
           "WALMART_SYNC_KAFKA__BOOTSTRAP_SERVERS": "a:1, b:2"}
    settings = load_settings(environ=env)
    assert settings.kafka.bootstrap_servers == ["a:1", "b:2"]


def test_per_group_consumer_tuning_overlays_defaults(config_file: Path) -> None:
    settings = load_settings(config_file, environ={})
    inventory = settings.kafka.tuning_for("inventory")
    price = settings.kafka.tuning_for("price")
    assert inventory.max_poll_records == 50
    assert price.max_poll_records == settings.kafka.consumer_defaults.max_poll_records
    assert inventory.session_timeout_ms == settings.kafka.consumer_defaults.session_timeout_ms


def test_sandbox_flag_selects_walmart_sandbox(config_file: Path) -> None:
    settings = load_settings(config_file, overrides=["walmart.sandbox=true"], environ={})
    assert settings.walmart.effective_base_url == "https://sandbox.walmartapis.com"


def _problems(**kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)
    return caught.value.problems


def test_bad_value_names_field_and_how_to_fix(config_file: Path) -> None:
    problems = _problems(config_file=config_file, overrides=["kafka.partitions=0"], environ={})
    assert len(problems) == 1
    assert problems[0].startswith("kafka.partitions: Input should be greater than or equal to 1")
    assert "WALMART_SYNC_KAFKA__PARTITIONS" in problems[0]
    assert "--set kafka.partitions=" in problems[0]


def test_missing_sections_list_each_required_field() -> None:
    problems = _problems(environ={})
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == ["commerce_api.base_url", "commerce_api.token", "commerce_db.password",
                      "state_store.dsn", "walmart.client_id", "walmart.client_secret"]
    assert all("required and not set" in p for p in problems)


def test_typo_gets_a_suggestion(config_file: Path) -> None:
    problems = _problems(config_file=config_file, environ={"WALMART_SYNC_KAFKA__PARTITONS": "3"})
    assert problems == ["kafka.partitons: unknown setting (did you mean kafka.partitions?); "
                        "remove it or fix its name"]


def test_semantic_rules(config_file: Path) -> None:
    problems = _problems(config_file=config_file, environ={}, overrides=[
        "kafka.security_protocol=SASL_SSL",
        "mapping.carrier_map.acme=AcmeExpress",
        "mapping.store_timezone=America/Springfield",
    ])
    text = "\n".join(problems)
    assert "security_protocol SASL_SSL needs sasl_mechanism, sasl_username, sasl_password" in text
    assert "unknown Walmart carrier(s) ['AcmeExpress']" in text
    assert "unknown timezone 'America/Springfield'" in text


def test_heartbeat_must_be_below_session_timeout(config_file: Path) -> None:
    problems = _problems(config_file=config_file, environ={}, overrides=[
        "kafka.consumer_groups.price.session_timeout_ms=6000",
        "kafka.consumer_groups.price.heartbeat_interval_ms=3000",
    ])
    assert any(p.startswith("kafka.consumer_groups.price: heartbeat_interval_ms must be at most "
                            "a third of session_timeout_ms") for p in problems)


def test_the_group_watchdog_must_leave_a_few_session_timeouts(config_file: Path) -> None:
    """Sooner, it would cut short rebalances that end by themselves (sync_workers/runtime/watchdog.py)."""
    problems = _problems(config_file=config_file, environ={}, overrides=["workers.group_watchdog_s=25"])
    assert any("workers.group_watchdog_s (25) must be at least three times session_timeout_ms of "
               "consumer_defaults (10 s)" in p for p in problems), problems
    assert not any("got" in p for p in problems), problems  # the whole configuration is not echoed
    problems = _problems(config_file=config_file, environ={}, overrides=[
        "workers.group_watchdog_s=40", "kafka.consumer_groups.price.session_timeout_ms=15000"])
    assert any("session_timeout_ms of price (15 s)" in p for p in problems), problems
    settings = load_settings(config_file=config_file, environ={}, overrides=["workers.group_watchdog_s=30"])
    assert settings.workers.group_watchdog_s == 30.0


def test_lease_renewal_must_leave_room_before_the_lease_expires(config_file: Path) -> None:
    problems = _problems(config_file=config_file, environ={}, overrides=["cdc.lease_s=6", "cdc.lease_renew_s=2.5"])
    assert any(p.startswith("cdc: lease_renew_s (2.5) must be at most a third of lease_s (6.0)") for p in problems)
    settings = load_settings(config_file=config_file, environ={}, overrides=["cdc.lease_s=6", "cdc.lease_renew_s=2"])
    assert (settings.cdc.lease_s, settings.cdc.lease_renew_s) == (6.0, 2.0)


def test_errors_never_echo_secrets(config_file: Path) -> None:
    bad_dsn = f"postgres://sync:{SECRETS['dsn']}@h/db"
    problems = _problems(config_file=config_file, environ={
        "WALMART_SYNC_STATE_STORE__DSN": bad_dsn,
        "WALMART_SYNC_COMMERCE_DB__PASSWORD": "",  # valid
        "WALMART_SYNC_KAFKA__SASL_PASSWORD": "x" * 3,
        "WALMART_SYNC_KAFKA__SECURITY_PROTOCOL": "NOPE",
    })
    text = "\n".join(problems)
    assert "state_store.dsn: must start with mysql://" in text
    assert SECRETS["dsn"] not in text
    assert "kafka.security_protocol" in text


def test_broken_toml_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[kafka\npartitions = 3\n")
    problems = _problems(config_file=path, environ={})
    assert problems[0].startswith(f"config file {path} is not valid TOML")
    missing = _problems(config_file=tmp_path / "absent.toml", environ={})
    assert "does not exist" in missing[0]


def test_dump_masks_every_secret(config_file: Path) -> None:
    settings = load_settings(config_file, environ={})
    dumped = json.dumps(settings.model_dump(mode="json"))
    for secret in SECRETS.values():
        assert secret not in dumped
        assert secret not in repr(settings)
    assert "mysql://sync:***@state.internal:3307/walmart_sync" in dumped
    assert set(SECRETS.values()) <= set(settings.secret_values())


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC_")}
    return subprocess.run([sys.executable, "-m", "walmart_sync.cli", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=60)


def test_cli_config_check_prints_masked_settings(config_file: Path) -> None:
    result = _cli("--config", str(config_file), "config", "check")
    assert result.returncode == 0, result.stderr
    assert "[kafka]" in result.stdout and '"k1:9092"' in result.stdout
    for secret in SECRETS.values():
        assert secret not in result.stdout + result.stderr
    as_json = _cli("--config", str(config_file), "config", "check", "--json")
    assert json.loads(as_json.stdout)["walmart"]["client_secret"] == "**********"


def test_cli_config_check_fails_with_clear_errors(config_file: Path) -> None:
    result = _cli("--config", str(config_file), "--set", "commerce_db.port=99999", "config", "check")
    assert result.returncode == 2
    assert "commerce_db.port: Input should be less than or equal to 65535" in result.stderr
    assert "Traceback" not in result.stderr
    assert _cli("config", "check").returncode == 2


def test_cli_help_lists_commands() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    assert "config" in result.stdout and "demo" in result.stdout


def test_a_partial_consumer_defaults_table_keeps_the_other_defaults(config_file: Path) -> None:
    """Found by the worker crash test: naming one knob in [kafka.consumer_defaults] used to drop
    auto_offset_reset = "earliest", so a new group started at the log end and skipped changes."""
    settings = load_settings(config_file, overrides=["kafka.consumer_defaults.session_timeout_ms=6000",
                                                     "kafka.consumer_defaults.heartbeat_interval_ms=2000"],
                             environ={})
    tuning = settings.kafka.tuning_for("shipment")
    assert (tuning.session_timeout_ms, tuning.heartbeat_interval_ms) == (6000, 2000)
    assert tuning.auto_offset_reset == "earliest"
    assert tuning.max_poll_records == 500


def test_a_section_that_fails_as_a_whole_never_echoes_its_secrets() -> None:
    """SASL_SSL without a mechanism fails the [kafka] section as a whole, and pydantic reports the
    section's input, passwords included, as what it got: masked by value, not by field."""
    env = {"WALMART_SYNC_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
           "WALMART_SYNC_KAFKA__SASL_PASSWORD": "kafka-pass-7781",
           "WALMART_SYNC_KAFKA__SSL_PASSWORD": "tls-pass-9921",
           "WALMART_SYNC_COMMERCE_DB__PASSWORD": "db-pass-1",
           "WALMART_SYNC_STATE_STORE__DSN": "mysql://s:state-pass-2@h:3306/w",
           "WALMART_SYNC_WALMART__CLIENT_ID": "id", "WALMART_SYNC_WALMART__CLIENT_SECRET": "wm-secret-3",
           "WALMART_SYNC_COMMERCE_API__BASE_URL": "https://shop.example", "WALMART_SYNC_COMMERCE_API__TOKEN": "tok-4"}
    problems = _problems(environ=env)
    text = "\n".join(problems)
    assert "kafka" in text and "sasl_mechanism" in text
    for secret in ("kafka-pass-7781", "tls-pass-9921"):
        assert secret not in text
    # the hint names the fields the check asked for, not the whole section
    assert "WALMART_SYNC_KAFKA__SASL_MECHANISM" in text


@pytest.mark.parametrize(("password", "encoded"), [("p@ss", "%40"), ("p#ss", "%23"), ("p/ss", "%2F"), ("p?ss", "%3F")])
def test_a_dsn_password_with_a_reserved_character_is_refused_with_its_escape(password: str, encoded: str) -> None:
    from config.settings import parse_mysql_dsn

    with pytest.raises(ValueError, match=f"percent-encode it as {encoded}"):
        parse_mysql_dsn(f"mysql://sync:{password}@state.internal:3306/walmart_sync")
    escaped = parse_mysql_dsn(f"mysql://sync:{password.replace(password[1], encoded)}@state.internal:3306/walmart_sync")
    assert (escaped.password.get_secret_value(), escaped.host, escaped.database) == (password, "state.internal",
                                                                                    "walmart_sync")


def test_mysql_tls_files_must_be_readable_and_consistent(config_file: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here: the handshake reads it")
    missing = tmp_path / "missing.pem"
    problems = "\n".join(_problems(config_file=config_file, environ={}, overrides=[
        f"commerce_db.ssl_ca={missing}", "commerce_db.ssl_mode=verify_ca",
        f"state_store.ssl_cert={ca}", "state_store.ssl_mode=verify_identity"]))
    assert f"commerce_db.ssl_ca: cannot read {missing}: No such file or directory" in problems
    assert "state_store: ssl_cert and ssl_key go together" in problems
    problems = "\n".join(_problems(config_file=config_file, environ={}, overrides=[
        "commerce_db.ssl_mode=verify_ca", f"state_store.ssl_ca={ca}", "state_store.ssl_mode=disabled"]))
    assert "commerce_db: ssl_mode verify_ca needs ssl_ca" in problems
    assert "state_store: ssl_mode is disabled but ssl_ca is set" in problems
    settings = load_settings(config_file=config_file, environ={}, overrides=[
        f"commerce_db.ssl_ca={ca}", "commerce_db.ssl_mode=verify_identity"])
    assert (settings.commerce_db.ssl_mode, settings.commerce_db.ssl_ca) == ("verify_identity", str(ca))
    assert settings.state_store.ssl_mode == "preferred"


def test_cli_config_check_refuses_a_missing_tls_file(config_file: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    result = _cli("--config", str(config_file), "--set", f"state_store.ssl_ca={missing}", "--set",
                  "state_store.ssl_mode=verify_identity", "config", "check")
    assert result.returncode == 2
    assert f"state_store.ssl_ca: cannot read {missing}" in result.stderr
    for secret in SECRETS.values():
        assert secret not in result.stdout + result.stderr


def test_cli_config_check_masks_the_client_key_passphrase(config_file: Path, tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("read by the TLS handshake, not here")
    passphrase = "kp-never-printed-1234"
    result = _cli("--config", str(config_file), "--set", "commerce_db.ssl_mode=required",
                  "--set", f"commerce_db.ssl_cert={tmp_path / 'cert.pem'}",
                  "--set", f"commerce_db.ssl_key={tmp_path / 'key.pem'}",
                  "--set", f"commerce_db.ssl_key_password={passphrase}", "config", "check", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["commerce_db"]["ssl_key_password"] == "**********"
    assert passphrase not in result.stdout + result.stderr


def test_ship_nodes_may_not_share_a_source_nor_push_to_a_wfs_node() -> None:
    import pytest
    from pydantic import ValidationError

    from config.settings import MappingSettings, WorkersSettings

    assert WorkersSettings(ship_nodes={"1000000001": ["wh_east"], "1000000002": ["wh_west"]}).ship_nodes
    with pytest.raises(ValidationError, match="behind both"):
        WorkersSettings(ship_nodes={"1000000001": ["wh_east"], "1000000002": ["wh_east"]})
    with pytest.raises(ValidationError, match="at least one MSI source"):
        WorkersSettings(ship_nodes={"1000000001": []})
    with pytest.raises(ValidationError, match="not a Walmart ship node id"):
        WorkersSettings(ship_nodes={"east": ["wh_east"]})
    with pytest.raises(ValidationError, match="at most 8 nodes"):
        WorkersSettings(ship_nodes={str(1000000001 + n): [f"s{n}"] for n in range(9)})
    with pytest.raises(ValidationError, match="Walmart keeps their inventory"):
        WorkersSettings(ship_node="9000000001", wfs_ship_nodes=["9000000001"])
    with pytest.raises(ValidationError, match="not usable by the module's carrier"):
        MappingSettings(ship_method_map={"Express": "Next Day!"})
