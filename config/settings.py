"""The one settings model of walmart-sync.

Every process (listener, workers, pollers, CLI) reads the same model so that an operator tunes
one file. Sections mirror the parts the sidecar talks to. Secrets are ``SecretStr`` so that a
stray ``repr`` or ``model_dump`` can never print them; the state-store DSN is masked to
``user:***@host`` rather than hidden whole, because support staff need the host to debug.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.components import WORKERS
from mappings.carriers import WALMART_CARRIERS
from mappings.selling_rules import SellingRule
from mappings.shipping import DEFAULT_SHIP_METHOD_MAP, SHIP_METHOD_CODE

WALMART_PRODUCTION_URL = "https://marketplace.walmartapis.com"
WALMART_SANDBOX_URL = "https://sandbox.walmartapis.com"


IdentifierType = Literal["upc", "gtin", "ean", "isbn"]


def _default_identifier_attributes() -> dict[IdentifierType, str]:
    return {"upc": "upc", "gtin": "gtin", "ean": "ean"}


class Section(BaseModel):
    """Base for every settings section: unknown keys are typos and must fail loudly."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


MySqlSslMode = Literal["disabled", "preferred", "required", "verify_ca", "verify_identity"]


def _readable_file(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        with open(value, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from None
    return value


class MySqlTlsSettings(Section):
    """TLS of a MySQL/MariaDB connection, named as MySQL's own ``--ssl-mode`` and ``--ssl-*`` options.

    ``preferred`` (the default, as for the mysql client) encrypts when the server offers TLS but
    checks no certificate, so it protects from eavesdroppers only: the binlog carries every row
    of the store, so production uses ``verify_identity`` (or ``verify_ca`` when the server's
    certificate does not name the host connected to) with ``ssl_ca``."""

    ssl_mode: MySqlSslMode = Field(
        "preferred", description="disabled | preferred (TLS if offered, unverified) | required (TLS, unverified) | "
                                 "verify_ca (TLS, certificate signed by ssl_ca) | verify_identity (and naming the host).")
    ssl_ca: str | None = Field(None, description="PEM file of the CA that signed the server's certificate "
                                                 "(verify_identity without it trusts the system's CAs).")
    ssl_cert: str | None = Field(None, description="PEM client certificate, for accounts created REQUIRE X509/SUBJECT.")
    ssl_key: str | None = Field(None, description="PEM private key of ssl_cert.")
    ssl_key_password: SecretStr | None = Field(None, description="Passphrase of an encrypted ssl_key.")

    _check_files = field_validator("ssl_ca", "ssl_cert", "ssl_key")(_readable_file)

    @model_validator(mode="after")
    def _consistent_tls(self) -> MySqlTlsSettings:
        if (self.ssl_cert is None) != (self.ssl_key is None):
            raise ValueError("ssl_cert and ssl_key go together: set both or neither")
        if self.ssl_key_password is not None and self.ssl_key is None:
            raise ValueError("ssl_key_password is set but ssl_key is not")
        if self.ssl_mode == "verify_ca" and self.ssl_ca is None:
            raise ValueError("ssl_mode verify_ca needs ssl_ca (the CA file that signed the server's certificate)")
        given = [name for name in ("ssl_ca", "ssl_cert", "ssl_key") if getattr(self, name) is not None]
        if self.ssl_mode == "disabled" and given:
            raise ValueError(f"ssl_mode is disabled but {', '.join(given)} is set: set ssl_mode = "
                             "\"verify_identity\" (or verify_ca) to use it, or remove it")
        return self


class CommerceDatabaseSettings(MySqlTlsSettings):
    """The Commerce MySQL/MariaDB server the listener replicates from (binlog and catalog reads)."""

    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    user: str = "walmart_sync"
    password: SecretStr
    database: str = "magento"
    server_id: int = Field(
        4207,
        ge=1,
        le=4294967295,
        description="Replica server id; must differ from every other replica of this server.",
    )
    edition: Literal["open_source", "adobe_commerce"] = Field(
        "open_source",
        description="Schema variant: open_source (entity_id) or adobe_commerce (row_id staging).",
    )
    connect_timeout_s: float = Field(10.0, gt=0)


class MySqlDsn(BaseModel):
    """A parsed ``mysql://user:password@host:port/database`` DSN."""

    model_config = ConfigDict(frozen=True)

    user: str
    password: SecretStr
    host: str
    port: int
    database: str

    def masked(self) -> str:
        return f"mysql://{quote(self.user)}:***@{self.host}:{self.port}/{self.database}"


def parse_mysql_dsn(raw: str) -> MySqlDsn:
    """Parse a DSN without ever echoing it: it carries a password."""
    parts = urlsplit(raw)
    if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise ValueError("must start with mysql:// (e.g. mysql://user:password@host:3306/schema)")
    # A reserved character in the password splits the URL somewhere else (a '#' starts a fragment,
    # a '/' the path, an '@' the host): say so instead of connecting to a host made of password.
    rest = raw.split("://", 1)[1]
    userinfo = rest[:rest.rfind("@")] if "@" in rest else ""
    for reserved in "@/?#":
        if reserved in userinfo:
            raise ValueError(f"has an unescaped {reserved!r} in its user or password; percent-encode it "
                             f"as {quote(reserved, safe='')} (e.g. p{quote(reserved, safe='')}ss for p{reserved}ss)")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError("has a port that is not a number between 1 and 65535") from None
    database = parts.path.lstrip("/")
    if not parts.hostname or not database or "/" in database:
        raise ValueError("must name a host and one schema: mysql://user:password@host:3306/schema")
    if not parts.username:
        raise ValueError("must name a user: mysql://user:password@host:3306/schema")
    return MySqlDsn(
        user=unquote(parts.username),
        password=SecretStr(unquote(parts.password or "")),
        host=parts.hostname,
        port=port,
        database=database,
    )


class StateStoreSettings(MySqlTlsSettings):
    """The sidecar's own schema: checkpoints, order mapping, listing state, outbox."""

    dsn: SecretStr = Field(
        description="mysql://user:password@host:port/schema of the sidecar's own state schema."
    )

    @field_validator("dsn")
    @classmethod
    def _dsn_must_parse(cls, value: SecretStr) -> SecretStr:
        parse_mysql_dsn(value.get_secret_value())
        return value

    @field_serializer("dsn", when_used="json")
    def _mask_dsn(self, value: SecretStr) -> str:
        return self.parsed.masked()

    @property
    def parsed(self) -> MySqlDsn:
        return parse_mysql_dsn(self.dsn.get_secret_value())


class ConsumerTuning(Section):
    """kafka-python consumer knobs an infrastructure team tunes per consumer group.

    Every field is optional so a per-group override names only what it changes; the
    ``consumer_defaults`` section carries the full set.
    """

    max_poll_records: int | None = Field(None, ge=1)
    max_poll_interval_ms: int | None = Field(None, ge=1000)
    session_timeout_ms: int | None = Field(None, ge=1000)
    heartbeat_interval_ms: int | None = Field(None, ge=100)
    request_timeout_ms: int | None = Field(
        None, ge=1000, description="How long a fetch, commit or metadata request may go unanswered before the "
                                   "consumer gives up on that broker: a frozen broker keeps its sockets open, so it "
                                   "costs each consumer about twice this (docs/tuning-kafka-consumers.md).")
    fetch_max_wait_ms: int | None = Field(None, ge=0)
    fetch_min_bytes: int | None = Field(None, ge=1)
    max_partition_fetch_bytes: int | None = Field(None, ge=1024)
    fetch_max_bytes: int | None = Field(None, ge=1024)
    auto_offset_reset: Literal["earliest", "latest"] | None = None

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> ConsumerTuning:
        hb, session = self.heartbeat_interval_ms, self.session_timeout_ms
        if hb is not None and session is not None and hb * 3 > session:
            raise ValueError(
                "heartbeat_interval_ms must be at most a third of session_timeout_ms "
                f"(got {hb} and {session})"
            )
        request, fetch_wait = self.request_timeout_ms, self.fetch_max_wait_ms
        if request is not None and fetch_wait is not None and request <= fetch_wait:
            raise ValueError(f"request_timeout_ms ({request}) must exceed fetch_max_wait_ms ({fetch_wait}): "
                             "the broker holds an empty fetch that long")
        return self


DEFAULT_CONSUMER_TUNING = ConsumerTuning(
    max_poll_records=500,
    max_poll_interval_ms=300_000,
    session_timeout_ms=10_000,
    heartbeat_interval_ms=3_000,
    request_timeout_ms=30_000,
    fetch_max_wait_ms=100,
    fetch_min_bytes=1,
    max_partition_fetch_bytes=1_048_576,
    # what a fetch may bring at once (Kafka's own default: 50 MB). kafka-python holds a response
    # whole and copies it while decoding, so with a backlog each fetch costs two to three times this
    # in a worker's memory; 2 MiB is still ~4,000 events, eight full polls, per round trip
    fetch_max_bytes=2_097_152,
    auto_offset_reset="earliest",
)


class ProducerTuning(Section):
    """Producer knobs; acks=all and idempotence are fixed because checkpoints rely on them."""

    linger_ms: int = Field(5, ge=0)
    batch_size: int = Field(65_536, ge=1024)
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    request_timeout_ms: int = Field(30_000, ge=1000)
    delivery_timeout_ms: int = Field(120_000, ge=1000)

    @model_validator(mode="after")
    def _delivery_covers_a_request(self) -> ProducerTuning:
        # kafka-python refuses the producer otherwise, and the listener would stop at its first start
        if self.delivery_timeout_ms < self.linger_ms + self.request_timeout_ms:
            raise ValueError(f"delivery_timeout_ms ({self.delivery_timeout_ms}) must be at least linger_ms + "
                             f"request_timeout_ms ({self.linger_ms} + {self.request_timeout_ms}): lower "
                             "request_timeout_ms with it")
        return self


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(Section):
    bootstrap_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:9092"],
        description="host:port list; a comma-separated string is accepted.",
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    topic_prefix: str = Field("walmart-sync", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    partitions: int = Field(6, ge=1, le=10_000)
    replication_factor: int = Field(
        1, ge=1, le=32, description="Replicas of each topic the sidecar creates. 1 suits one local broker only: "
                                    "`config check` warns; use 3 on a cluster.")
    min_insync_replicas: int | None = Field(
        None, ge=1, le=32, description="Topic min.insync.replicas at creation (with acks=all, a write needs this "
                                       "many replicas); 2 with replication_factor 3 survives a broker loss.")
    topic_configs: dict[str, str] = Field(
        default_factory=dict, description="Other topic configs applied when the sidecar creates a topic, e.g. "
                                          "retention.ms (keep events longer than the longest outage).")
    client_rack: str | None = Field(None, description="This deployment's rack/zone (client.rack): consumers fetch "
                                                      "from the nearest replica where the brokers allow it.")
    group_instance_id: str | None = Field(
        None, description="A stable id of this replica (e.g. the pod name): static group membership, so a restart "
                          "within session_timeout_ms moves no partitions. Unique per replica.")
    assignment_strategy: Literal["range", "roundrobin", "cooperative-sticky"] = Field(
        "range", description="Partition assignor of every consumer group; cooperative-sticky moves only the "
                             "partitions that must move when replicas come and go.")
    isolation_level: Literal["read_uncommitted", "read_committed"] = Field(
        "read_uncommitted", description="read_committed skips aborted transactions (needed when the topics are "
                                        "written transactionally, e.g. by Debezium with exactly-once).")
    client_options: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Other kafka-python settings for every client (checked by `config check`).")
    producer: ProducerTuning = Field(default_factory=ProducerTuning)
    consumer_defaults: ConsumerTuning = Field(
        default_factory=lambda: DEFAULT_CONSUMER_TUNING.model_copy()
    )
    consumer_groups: dict[str, ConsumerTuning] = Field(
        default_factory=dict,
        description="Per-group overrides keyed by worker name (inventory, price, shipment, ...).",
    )

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_are_host_port(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one host:port")
        for server in value:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port (e.g. kafka-1:9092)")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"security_protocol {self.security_protocol} needs {', '.join(missing)}"
                )
        return self

    @field_validator("consumer_groups")
    @classmethod
    def _known_groups(cls, value: dict[str, ConsumerTuning]) -> dict[str, ConsumerTuning]:
        unknown = sorted(set(value) - set(WORKERS))
        if unknown:
            raise ValueError(f"unknown consumer group(s) {unknown}; the workers are: {', '.join(WORKERS)}")
        return value

    @model_validator(mode="after")
    def _durability_fits(self) -> KafkaSettings:
        if self.min_insync_replicas is not None and self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"min_insync_replicas ({self.min_insync_replicas}) cannot exceed replication_factor "
                             f"({self.replication_factor}): every acks=all write would be refused")
        reserved = {"min.insync.replicas"} & set(self.topic_configs)
        if reserved:
            raise ValueError("set min.insync.replicas with kafka.min_insync_replicas, not in topic_configs")
        return self

    def tuning_for(self, group: str) -> ConsumerTuning:
        """Built-in defaults, overlaid with ``consumer_defaults``, overlaid with the group's own.

        A ``[kafka.consumer_defaults]`` table naming one knob must not drop the others: a lost
        ``auto_offset_reset = "earliest"`` would make a new group start at the log end and skip
        every change published before it joined.
        """
        override = self.consumer_groups.get(group)
        merged = DEFAULT_CONSUMER_TUNING.model_dump()
        merged.update(self.consumer_defaults.model_dump(exclude_none=True))
        if override is not None:
            merged.update(override.model_dump(exclude_none=True))
        return ConsumerTuning.model_validate(merged)


class RateLimitOverride(Section):
    """A token bucket: ``capacity`` tokens, refilled at ``per_minute``.

    Walmart grants some sellers higher limits than the published ones; operators write them here.
    """

    capacity: int = Field(ge=1)
    per_minute: float = Field(gt=0)


class WalmartSettings(Section):
    base_url: AnyHttpUrl | None = Field(
        None, description="Defaults to production, or the sandbox when sandbox = true."
    )
    sandbox: bool = False
    mode: Literal["live", "shadow"] = Field(
        "live", description="shadow: nothing is written to Walmart (no quantity, price, listing, acknowledgement, "
                            "shipment, cancellation or refund) and no Walmart order becomes a Commerce order; reads "
                            "go on within the budget, and `walmart-sync shadow report` lists what would have been "
                            "sent and how Walmart differs. For a trial beside Channel Manager or M2E Pro; live sends "
                            "what the trial held back (docs/shadow.md).")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    service_name: str = "Walmart Marketplace"
    channel_type: str | None = Field(
        None, description="WM_CONSUMER.CHANNEL.TYPE for solution providers, if Walmart issued one."
    )
    request_timeout_s: float = Field(30.0, gt=0)
    max_throttle_pause_s: float = Field(
        60.0, gt=0, description="Longest pause after a 429, whatever x-next-replenishment-time says (a far-future "
                                "header once paused an API for 10 min while the worker looked ready).")
    rate_limits: dict[str, RateLimitOverride] = Field(
        default_factory=dict, description="Per-API overrides, keyed by API name (e.g. inventory)."
    )

    @property
    def effective_base_url(self) -> str:
        if self.base_url is not None:
            return str(self.base_url).rstrip("/")
        return WALMART_SANDBOX_URL if self.sandbox else WALMART_PRODUCTION_URL


class CommerceApiSettings(Section):
    base_url: AnyHttpUrl = Field(description="Store URL; /rest/<store_code>/V1 is appended.")
    token: SecretStr = Field(description="Integration access token (Bearer).")
    store_code: str = Field("default", pattern=r"^[a-z0-9_]+$|^all$")
    request_timeout_s: float = Field(30.0, gt=0)
    rma: Literal["auto", "on", "off"] = Field(
        "auto", description="Walmart returns become RMAs (Adobe Commerce's Magento_Rma). auto: when the store "
                            "answers POST /V1/returns; off: returns are only recorded for support staff "
                            "(Open Source has no RMA module).")

    @property
    def rest_url(self) -> str:
        return f"{str(self.base_url).rstrip('/')}/rest/{self.store_code}/V1"


class MappingSettings(Section):
    """How Commerce concepts map to Walmart ones for this store."""

    website_code: str = "base"
    website_id: int = Field(1, ge=0)
    store_id: int = Field(1, ge=0)
    stock_id: int = Field(1, ge=1)
    msi_enabled: bool = Field(True, description="False for stores on legacy single-source stock.")
    store_timezone: str | None = Field(
        None, description="IANA zone special-price windows open and close in. Unset: the store view's "
                          "general/locale/timezone from core_config_data (store, else website, else default "
                          "scope, else America/Los_Angeles), as Magento reads it; set it when env.php or "
                          "config.php sets the timezone, which the database does not show.")
    inventory_safety_buffer: int = Field(0, ge=0)
    unlimited_stock_quantity: int = Field(
        100, ge=0, description="Quantity Walmart shows for a product Magento sells whatever its count: Manage "
                               "Stock = No (ManageStockCondition), or backorders on with an out-of-stock threshold "
                               ">= 0 (BackOrderCondition). Walmart needs a number; 0 would stop sales Magento takes.")
    customer_group_id: int = Field(
        0, ge=0, description="Customer group whose final price Walmart shows (tier/group prices and catalog price "
                             "rules are per group); 0 is Magento's NOT LOGGED IN.")
    payment_method: str = "checkmo"
    shipping_carrier_code: str = "flatrate"
    shipping_method_code: str = "flatrate"
    carrier_map: dict[str, str] = Field(
        default_factory=lambda: {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL"},
        description="Commerce carrier_code -> Walmart carrier name; others go as otherCarrier.",
    )
    tracking_url_template: str = Field(
        "https://www.17track.net/en/track?nums={number}",
        description="Tracking URL for carriers Walmart does not list ({number} is replaced).")
    cancel_reason: Literal["SELLER_CANCEL_OUT_OF_STOCK", "SELLER_CANCEL_PRICING_ERROR",
                           "SELLER_CANCEL_FRAUD_STOP_SHIPMENT", "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE"] = Field(
        "SELLER_CANCEL_OUT_OF_STOCK",
        description="Walmart reason for cancellations made in Commerce (customer-requested ones use "
                    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL automatically).")
    refund_reason: Literal[
        "BillingError", "TaxExemptCustomer", "ItemNotAsAdvertised", "IncorrectItemReceived",
        "CancelledYetShipped", "ItemNotReceivedByCustomer", "IncorrectShippingPrice", "DamagedItem",
        "DefectiveItem", "CustomerChangedMind", "CustomerReceivedItemLate", "Customer returned item",
        "General adjustment", "Merchandise not received", "Others"] = Field(
        "CustomerChangedMind",
        description="Walmart refundReason for Commerce credit memos (Commerce records no reason of its own).")
    walmart_method_code: Literal["Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"] = Field(
        "Standard", description="Walmart methodCode sent with the shipment of a line whose order names no ship "
                                "method Walmart knows (a line is shipped with its own method otherwise).")
    ship_method_map: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SHIP_METHOD_MAP),
        description="Walmart ship method (shippingInfo.methodCode) -> method code of the companion module's "
                    "walmartsync carrier the Commerce order gets (its shipping method becomes "
                    "walmartsync_<code>), so the warehouse sees the service level Walmart sold.")
    default_ship_method: str = Field(
        "marketplace", pattern=SHIP_METHOD_CODE,
        description="Carrier method code for a Walmart ship method the map does not name.")
    identifier_attributes: dict[IdentifierType, str] = Field(
        default_factory=_default_identifier_attributes,
        description="Walmart product id type -> Commerce attribute code holding it.",
    )

    @field_validator("store_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as America/Chicago") from None
        return value

    @field_validator("ship_method_map")
    @classmethod
    def _method_codes(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(v for v in value.values() if not re.fullmatch(SHIP_METHOD_CODE, v))
        if bad:
            raise ValueError(f"ship method code(s) {bad} are not usable by the module's carrier: lower-case "
                             "letters, digits and _, at most 40 (commerce-module/Logic/ShippingMethodCode.php)")
        return value

    @field_validator("carrier_map")
    @classmethod
    def _known_carriers(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({v for v in value.values() if v not in WALMART_CARRIERS})
        if unknown:
            raise ValueError(
                f"unknown Walmart carrier(s) {unknown}; use one of Walmart's carrier names "
                "(e.g. UPS, USPS, FedEx) or leave the code unmapped to send it as otherCarrier"
            )
        return value


class DebeziumSourceSettings(Section):
    """An existing Debezium (Kafka Connect or Debezium Server, MySQL/MariaDB connector) as the
    source of change capture instead of the listener (docs/cdc-listener.md, "Using an existing
    Debezium")."""

    topic_prefix: str = Field("commerce", pattern=r"^[A-Za-z0-9._-]{1,200}$",
                              description="The connector's topic.prefix.")
    topic_template: str = Field(
        "{prefix}.{database}.{table}",
        description="Name of a table's change topic, from {prefix}, {database} and {table}: Kafka "
                    "Connect's default; change it to match a RegexRouter or topic naming strategy.")
    schemas: Literal["auto", "on", "off"] = Field(
        "auto", description="JSON converter schemas.enable: auto reads either ({schema, payload} "
                            "envelopes or bare payloads).")
    group: str = Field("debezium-translate", pattern=r"^[A-Za-z0-9._-]{1,100}$",
                       description="Consumer group (under kafka.topic_prefix) of the translation stage.")
    max_batch_records: int = Field(500, ge=1, le=100_000,
                                   description="Debezium records translated per produce and offset commit.")


class CdcSettings(Section):
    """Change capture: the binlog listener, or an existing Debezium's topics."""

    source: Literal["listener", "debezium"] = Field(
        "listener", description="listener reads the binlog itself; debezium translates an existing "
                                "Debezium's per-table topics into the same change events.")
    debezium: DebeziumSourceSettings = Field(default_factory=DebeziumSourceSettings)

    name: str = Field("default", pattern=r"^[a-z0-9_-]{1,32}$",
                      description="Checkpoint and leader-lease name; one per Commerce database.")
    heartbeat_s: float = Field(1.0, gt=0, le=60, description="Server heartbeat period while idle.")
    watchdog_s: float = Field(10.0, gt=0, description="Reconnect a stream silent for this long.")
    checkpoint_interval_ms: int = Field(500, ge=10, description="How often the safe position is saved.")
    fast_path: bool = Field(
        True, description="Skip events of unwatched tables (and transactions that touch none) from their raw "
                          "header, before the binlog library parses them; false reads every event through the "
                          "library, as before (docs/cdc-listener.md, fast path).")
    standby_poll_s: float = Field(1.0, gt=0, le=30,
                                  description="How often a standby tries to take the leader lease.")
    lease_s: float = Field(
        10.0, ge=1, le=300,
        description="How long the leader lease lasts past its last renewal: a standby takes over at most "
                    "lease_s + standby_poll_s after the active listener's host dies (docs/cdc-listener.md).")
    lease_renew_s: float = Field(
        2.0, gt=0, le=100,
        description="How often the active listener renews its lease; it stops publishing lease_renew_s before "
                    "its lease can expire when it could not renew (at most a third of lease_s).")

    @model_validator(mode="after")
    def _watchdog_above_heartbeat(self) -> CdcSettings:
        if self.watchdog_s <= 2 * self.heartbeat_s:
            raise ValueError("watchdog_s must be more than twice heartbeat_s")
        if self.lease_renew_s * 3 > self.lease_s:
            raise ValueError(f"lease_renew_s ({self.lease_renew_s}) must be at most a third of lease_s "
                             f"({self.lease_s}): the holder needs a few renewals to ride out one failed "
                             "statement, and stops publishing lease_renew_s before the lease expires")
        return self


MAX_SHIP_NODES = 8  # 8 x "<20-digit id>=<7-digit qty>," fits walmart_values.value (255)


class WorkersSettings(Section):
    """The push workers (Commerce -> Walmart)."""

    push_skus: Literal["matched", "all"] | list[str] = Field(
        "matched", description="Which SKUs the inventory and price workers push: matched (listings matched on Walmart, "
                               "see walmart-sync listings), all (the Walmart catalogue is managed elsewhere), or a list.")
    ship_node: str | None = Field(
        None, description="Walmart ship node for inventory when `ship_nodes` is empty (one node, every source of "
                          "the stock behind it); None = the seller's default node.")
    ship_nodes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Walmart ship node id -> the MSI source codes whose quantity it publishes (each node's "
                    "quantity is MSI's salable rule over its own sources). Empty: one node (`ship_node`). An "
                    "order Walmart assigned to a node is imported naming its first source, for the shipment.")
    wfs_orders: Literal["import", "ignore"] = Field(
        "ignore", description="Orders Walmart Fulfillment Services ships: import (polled with shipNodeType="
                              "WFSFulfilled, placed without checking or reserving Commerce stock, marked WFS, never "
                              "acknowledged, shipped, cancelled or refunded by walmart-sync) or ignore (Walmart's "
                              "default listing does not show them).")
    wfs_ship_nodes: list[str] = Field(
        default_factory=list,
        description="The seller's WFS ship node ids: their inventory is Walmart's, read for the lookup, never pushed.")
    coalesce_ms: int = Field(200, ge=0, le=60_000,
                             description="Collect changes this long so one push carries the latest.")
    feed_threshold: int = Field(
        1000, ge=1, description="Always use a bulk feed when more SKUs than this are pending; below it, "
                                "a feed is used only when singles would take longer than feed_expected_s.")
    feed_expected_s: float = Field(
        300.0, gt=0, description="How long Walmart takes to process a feed, until measured: the worker "
                                 "learns it from its own feeds.")
    feed_poll_s: float = Field(
        900.0, gt=0, description="When a submitted feed's status is first asked for. Walmart's advice is followed "
                                 "from there: again at 4 and 8 times this (15 min, 1 h, 2 h), then every 16 times "
                                 "(4 h); item details only once the feed is done. Time-scaled emulators need less.")
    price_after_setup_s: float = Field(
        86_400.0, ge=0, description="Walmart takes price updates for an item no sooner than this after its setup "
                                    "(24 h): the price worker defers earlier ones, shows them as waiting, and "
                                    "pushes them then. Only a time-scaled emulator needs another value.")
    single_concurrency: int = Field(
        4, ge=1, le=32, description="Single inventory/price updates in flight at once (the API budget still "
                                    "bounds the rate).")
    max_batch_records: int = Field(
        5_000, ge=1, description="While Kafka returns full polls (a backlog), keep reading up to this many "
                                 "records into one batch (each costs about 1 KB while it is handled; a backlog "
                                 "large enough to matter is compared in full anyway, see bulk_scan_rows).")
    max_batch_ms: int = Field(3_000, ge=0, description="... or for at most this long.")
    bulk_scan_rows: int = Field(
        250, ge=0, description="A source transaction with at least this many watched row changes (an import, a "
                                "warehouse sync), or a consumer backlog this large, makes the inventory and price "
                                "workers compare every product's value with Walmart's at once instead of waiting "
                                "for each event to be decoded, so the whole burst goes in one feed. 0: off.")
    retry_base_s: float = Field(0.5, gt=0)
    group_watchdog_s: float = Field(
        120.0, gt=0, description="A worker out of its consumer group, or not consuming while records wait on its "
                                 "partitions, for this long gets a new Kafka consumer (it rejoins as a new member; "
                                 "if that fails the process exits for its supervisor). Readiness is false after two "
                                 "session timeouts of it. At least three times the group's session_timeout_ms.")

    retry_cap_s: float = Field(60.0, gt=0)
    park_max_s: float = Field(
        6 * 3600.0, gt=0,
        description="Longest a record that arrived early (a refund waiting for its shipment) stays parked before it "
                    "is dead-lettered with its last reason.")
    park_retry_s: float = Field(30.0, gt=0, description="First wait of a parked record; it doubles up to 10 min.")
    order_poll_s: float = Field(
        5.0, gt=0, le=3600, description="How often new and changed Walmart orders are polled (GET /v3/orders "
                                         "allows 5000/min).")
    order_poll_overlap_s: float = Field(
        120.0, ge=0, description="Each poll reaches back this far before the last one, so an order modified at "
                                 "a window's edge is not missed (the importer ignores repeats).")
    order_initial_lookback_h: float = Field(24.0, gt=0, description="On the first start, import orders this old.")
    order_import_concurrency: int = Field(
        1, ge=1, le=16,
        description="Walmart orders of one batch the importer places in Commerce at once (each through its own "
                    "state-store connection, each PO under its own lock, so still exactly once), so a backlog "
                    "(a flash sale, the sidecar back after an outage) is not bound to one placement's round trip "
                    "at a time where Commerce places orders side by side (its PHP workers). 1 (the default): one "
                    "at a time. Above 1, Magento's salable check (IsSalableWithReservationsCondition) is not "
                    "serialised with placement (magento/magento2 #25653): two POs for the last unit placed side "
                    "by side can both be accepted, where one at a time the second is refused and cancelled on "
                    "Walmart with the configured reason. Raise it "
                    "only where stock is ample or Commerce's placement is the measured bottleneck; the devstack's "
                    "Commerce emulator places one order at a time, so there it changes nothing (docs/orders.md).")
    return_poll_s: float = Field(
        15.0, gt=0, le=3600, description="How often new and changed Walmart returns are polled (GET /v3/returns "
                                          "allows 50/min, shared with return refunds' read-backs).")
    intent_to_cancel: Literal["cancel", "notify"] = Field(
        "cancel", description="A Walmart customer's request to cancel lines not yet shipped: cancel the Commerce "
                              "order (the cancellation worker then tells Walmart), or only comment on it for the "
                              "merchant to decide.")
    out_of_stock_cancel_reason: Literal[
        "SELLER_CANCEL_OUT_OF_STOCK", "SELLER_CANCEL_PRICING_ERROR", "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
        "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE"] = Field(
        "SELLER_CANCEL_OUT_OF_STOCK", description="Reason used when Commerce refuses an order for stock.")

    @model_validator(mode="after")
    def _nodes_are_consistent(self) -> WorkersSettings:
        owners: dict[str, str] = {}
        if len(self.ship_nodes) > MAX_SHIP_NODES:
            raise ValueError(f"ship_nodes: at most {MAX_SHIP_NODES} nodes (each SKU's pushed value names every "
                             "node's quantity and is stored in 255 characters)")
        for node, sources in self.ship_nodes.items():
            if not re.fullmatch(r"\d{1,20}", node):
                raise ValueError(f"ship_nodes: {node!r} is not a Walmart ship node id (digits, e.g. 1000005050)")
            if not node.strip() or not sources:
                raise ValueError(f"ship_nodes: node {node!r} needs an id and at least one MSI source code")
            for source in sources:
                if source in owners:
                    raise ValueError(f"ship_nodes: source {source!r} is behind both {owners[source]} and {node}: its "
                                     "units would be offered twice on Walmart")
                owners[source] = node
        pushed = set(self.ship_nodes) | ({self.ship_node} if self.ship_node else set())
        wfs = pushed & set(self.wfs_ship_nodes)
        if wfs:
            raise ValueError(f"WFS node(s) {sorted(wfs)} cannot be pushed to: Walmart keeps their inventory")
        return self


ItemCondition = Literal["New", "New without box", "New without tags", "Restored Premium", "Restored",
                        "Remanufactured", "Open Box", "Pre-Owned: Like New", "Pre-Owned: Good", "Pre-Owned: Fair",
                        "New with defects"]


class ListingsSettings(Section):
    """Listing management: which Commerce products are on the Walmart channel, matched by UPC/GTIN/EAN/ISBN."""

    auto_add: Literal["off", "all", "attribute_sets"] = Field(
        "off", description="Products the CDC listener sees created are added to the channel: off, all, or those "
                           "in `attribute_sets`.")
    attribute_sets: list[str] = Field(default_factory=list,
                                      description="Attribute set names or ids for auto_add = attribute_sets.")
    auto_match: bool = Field(True, description="The listings worker matches drafts and polls match feeds by itself.")
    match_interval_s: float = Field(30.0, gt=0, description="How often the listings worker looks for drafts and "
                                                            "polls open match feeds.")
    condition: ItemCondition = Field("New", description="Item condition sent with setup-by-match.")

    @model_validator(mode="after")
    def _sets_named(self) -> ListingsSettings:
        if self.auto_add == "attribute_sets" and not self.attribute_sets:
            raise ValueError("auto_add = attribute_sets needs attribute_sets (names or ids)")
        return self


class LogSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: console on a terminal, JSON otherwise."
    )


DriftFix = Literal["quantity", "price"]


class ReconcileSettings(Section):
    """Reconciliation against what Walmart shows (sync_workers/push/reconcile.py): a slice of the
    seller's items read back every interval, compared with what Commerce says now."""

    enabled: bool = Field(True, description="Run the reconciler with `walmart-sync run` (or `work reconciler`).")
    interval_s: float = Field(300.0, gt=0, description="How often one slice of items is read back from Walmart "
                                                      "(GET /v3/items, one page, and one inventory read per SKU).")
    page_size: int = Field(100, ge=1, le=200, description="Items per slice (Walmart pages GET /v3/items by at most "
                                                          "200); fewer when the budget has less.")
    budget_fraction: float = Field(
        0.1, gt=0, le=0.5, description="The reconciler's own share of Walmart's published rate limits for the reads "
                                       "it makes (items, inventory): the pushes keep the rest.")
    fix: list[DriftFix] = Field(
        default_factory=lambda: list[DriftFix](["quantity", "price"]),
        description="Differences pushed again automatically (through the workers' recheck path). An unpublished "
                    "or missing item is never fixed by a push: it is listed, with Walmart's reason, for a person.")


class OpsSettings(Section):
    """The operations endpoint (/metrics, /healthz, /readyz, /status) and the lag thresholds."""

    host: str = Field("127.0.0.1", description="Bind address of /metrics, /healthz, /readyz and /status.")
    port: int = Field(9108, ge=0, le=65535)
    status_token: SecretStr | None = Field(
        None, description="Required (?token= or Authorization: Bearer) for /status from every client, this host's "
                          "included (a same-host reverse proxy makes every client local); without one /status is "
                          "closed. /healthz, /readyz and /metrics stay open for probes and Prometheus.")
    status_open: bool = Field(False, description="Serve /status without a token: only behind authentication of "
                                                 "your own (a reverse proxy that logs support staff in).")
    lag_sample_s: float = Field(15.0, gt=0, description="How often one sidecar process samples every stage's lag "
                                                        "into the state store (the trend `lag` and /status judge).")
    lag_history_s: float = Field(3600.0, gt=0, description="How long lag samples are kept.")
    max_consumer_lag_s: float = Field(120.0, gt=0, description="A consumer group whose oldest uncommitted message "
                                                               "is older than this is over its threshold.")
    max_binlog_lag_s: float = Field(60.0, gt=0, description="The listener's checkpoint may be this far behind "
                                                            "the binlog.")
    max_pending_age_s: float = Field(300.0, gt=0, description="The oldest change not yet confirmed by Walmart, per "
                                                              "stream, and the oldest order being imported.")
    max_poll_age_s: float | None = Field(None, gt=0, description="Seconds since a poller's last complete poll; "
                                                                 "default ten poll intervals, at least 60 s.")
    acknowledge_margin_s: float = Field(
        3600.0, gt=0, lt=14400, description="A Walmart order not acknowledged this long before Walmart's 4-hour "
                                            "deadline is at risk (lag WARN, walmart_sync_orders_at_deadline).")
    ship_by_margin_s: float = Field(
        6 * 3600.0, gt=0, description="An open Walmart order not shipped this long before its estimated ship date "
                                      "is at risk (lag WARN, walmart_sync_orders_at_deadline{deadline=\"ship_by\"}).")
    auto_cancel_margin_s: float = Field(
        24 * 3600.0, gt=0, description="... and this long before Walmart auto-cancels it (the estimated ship date "
                                       "+ 4 days): at risk of losing the sale.")
    max_dead_letters: int = Field(0, ge=0, description="Dead letters not replayed, per worker, before the stage "
                                                       "is over its threshold.")
    liveness_s: float = Field(30.0, gt=0, description="A worker whose heartbeat (every 5 s, in the state store) is "
                                                     "older than this counts as stopped.")
    ready_max_lag_s: float = Field(60.0, gt=0, description="/readyz fails while the listener is further behind "
                                                           "the binlog than this.")
    gap_check_s: float = Field(30.0, gt=0, description="How often the listener, the pollers and the workers compare "
                                                       "what they produced or committed with what Kafka still holds "
                                                       "(records lost: a rebuilt cluster, retention shorter than an "
                                                       "outage); also at every start.")


class PriceSettings(Section):
    """How Commerce's promotions reach Walmart (mappings/promotions.py)."""

    promotions: Literal["base_only", "promotions"] = Field(
        "base_only",
        description="base_only: Magento's final price (special and catalogue rule prices included) goes as the "
                    "BASE price, Walmart shows no saving. promotions: the regular price goes as BASE and a special "
                    "price or catalogue rule price below it as a REDUCED promotion with the regular price as the "
                    "was-price (comparisonPrice) and the window's dates, within Walmart's rules (starts more than "
                    "4 h after it is sent, at most 180 days); the sidecar then owns the SKU's promotions on Walmart "
                    "(replaceAll: others are cancelled).")
    promotion_margin_s: float = Field(
        3600.0, ge=0, le=86_400,
        description="Added to Walmart's 4 h lead when a window opens too soon: the promotion is sent to start this "
                    "much later than Walmart's minimum, so a feed's processing time or a clock difference does not "
                    "make Walmart refuse it.")


class LagTimeSettings(Section):
    """Lag time, the days from order to ship Walmart holds per item (sync_workers/push/lag_time.py,
    run by the inventory worker): a product attribute, else a default; nothing is sent while both
    are unset. Sent with Walmart's lagtime feed (6 a day) for the SKUs whose lag time differs from
    what Walmart confirmed. A lag time of 2 days or more needs Walmart's approval (a Lag Time
    Exception); Walmart refuses it otherwise, and the SKU's lookup shows why."""

    attribute: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]*$",
        description="Product attribute holding the lag time in whole days (a number or text attribute, or a "
                    "dropdown whose option admin labels are numbers).")
    default_days: int | None = Field(
        None, ge=0, le=365, description="The lag time of products whose attribute is empty (or not a whole number).")
    check_s: float = Field(
        14_400.0, ge=1, description="How often every pushed SKU's lag time is compared with Walmart's and what "
                                    "differs sent in one lagtime feed (Walmart takes 6 a day: every 4 h).")

    def active(self) -> bool:
        return self.attribute is not None or self.default_days is not None


class SellingSettings(Section):
    """Selling rules (mappings/selling_rules.py): markup, price ending, floor and ceiling; a share of
    the salable quantity, a reserve, a cap and a minimum. Chosen per product: the attribute
    ``rule_attribute`` naming a rule, else ``by_category``, else ``by_attribute_set``, else ``default``.
    A change here re-evaluates every SKU at the workers' next start (no Commerce change needed)."""

    default: SellingRule = Field(default_factory=SellingRule, description="The rule for products no other rule names.")
    rules: dict[str, SellingRule] = Field(default_factory=dict, description="Named rules, e.g. [selling.rules.clearance].")
    by_attribute_set: dict[str, str] = Field(
        default_factory=dict, description="Attribute set name (or id) -> rule name.")
    by_category: dict[int, str] = Field(
        default_factory=dict, description="Category id -> rule name (a product in several: the lowest id that maps).")
    rule_attribute: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]*$",
        description="Product attribute (text, or a dropdown's option label) whose value names the product's rule.")

    @model_validator(mode="after")
    def _known_rules(self) -> SellingSettings:
        if "default" in self.rules:
            raise ValueError("'default' is the name of selling.default; give the rule another name")
        for where, table in (("by_attribute_set", self.by_attribute_set), ("by_category", self.by_category)):
            unknown = sorted({name for name in table.values() if name not in self.rules})
            if unknown:
                raise ValueError(f"selling.{where} names rules that selling.rules does not define: {unknown}")
        return self

    def active(self) -> bool:
        """Whether any rule can change a value (the workers read product groups only then)."""
        return any(rule.changes_price() or rule.changes_quantity() for rule in (self.default, *self.rules.values()))

    def digest(self, family: Literal["price", "quantity"]) -> str:
        """What the ``family``'s values were computed under: when it differs at a worker's start,
        every SKU is compared again. Only that family's fields count, so a new quantity share does
        not spend the scarce price budget."""
        import hashlib
        import json

        def fields(rule: SellingRule) -> dict[str, str]:
            return {k: str(v) for k, v in rule.model_dump().items() if k.startswith(family)}

        chosen = {"default": fields(self.default), "rules": {n: fields(r) for n, r in sorted(self.rules.items())},
                  "by_attribute_set": self.by_attribute_set, "by_category": {str(k): v for k, v in self.by_category.items()},
                  "rule_attribute": self.rule_attribute}
        return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]


class Settings(BaseSettings):
    """Effective settings: CLI flags over environment over TOML file over defaults."""

    model_config = SettingsConfigDict(
        env_prefix="WALMART_SYNC_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    commerce_db: CommerceDatabaseSettings
    state_store: StateStoreSettings
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    walmart: WalmartSettings
    commerce_api: CommerceApiSettings
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    cdc: CdcSettings = Field(default_factory=CdcSettings)
    workers: WorkersSettings = Field(default_factory=WorkersSettings)
    listings: ListingsSettings = Field(default_factory=ListingsSettings)
    selling: SellingSettings = Field(default_factory=SellingSettings)
    price: PriceSettings = Field(default_factory=PriceSettings)
    lag_time: LagTimeSettings = Field(default_factory=LagTimeSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)

    @model_validator(mode="after")
    def _watchdog_above_sessions(self) -> Settings:
        # a rebuild sooner than a few session timeouts would cut short rebalances that end by themselves
        groups = {"consumer_defaults": self.kafka.tuning_for(""),
                  **{name: self.kafka.tuning_for(name) for name in self.kafka.consumer_groups}}
        for name, tuning in groups.items():
            session_s = (tuning.session_timeout_ms or 10_000) / 1000
            if self.workers.group_watchdog_s < 3 * session_s:
                raise ValueError(f"workers.group_watchdog_s ({self.workers.group_watchdog_s:g}) must be at least three "
                                 f"times session_timeout_ms of {name} ({session_s:g} s)")
        return self

    def secret_values(self) -> list[str]:
        """Every secret this configuration holds, for the log redactor."""
        found: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, SecretStr):
                found.append(node.get_secret_value())
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, dict):
                for item in node.values():
                    walk(item)

        walk(self)
        found.append(self.state_store.parsed.password.get_secret_value())
        return [s for s in found if s]
