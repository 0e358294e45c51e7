"""The Commerce tables in MariaDB match Magento's own definitions, in both editions.

Expected shapes are read straight from the db_schema.xml files by a reader written for this
test (not the converter under test), then compared with what MariaDB reports in
information_schema after loading the committed DDL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from devstack.commerce_db import create_commerce_database
from devstack.commerce_schema import generate
from devstack.commerce_schema.declarative import load_tables
from devstack.commerce_schema.variants import (
    EDITIONS,
    MODULES,
    OVERLAY_DIR,
    SEQUENCE_ENTITIES,
    table_names,
)
from tests.support.paths import MAGENTO_SCHEMA_DIR, requires_reference

XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
DATA_TYPE = {"boolean": "tinyint"}


def expected_tables(edition: str) -> dict[str, dict]:
    """Magento's merge, restated minimally: last declaration wins, disabled removes."""
    files = [MAGENTO_SCHEMA_DIR / m / "etc" / "db_schema.xml" for m in MODULES]
    files += [OVERLAY_DIR / name for name in ("magento_config.xml", "magento_cron.xml", "magento_reports.xml")]
    if edition == "adobe_commerce":
        files.append(OVERLAY_DIR / "adobe_commerce.xml")
    wanted = set(table_names(edition))
    tables: dict[str, dict] = {}
    for path in files:
        for node in ET.parse(path).getroot().iter("table"):
            if node.get("name") not in wanted:
                continue
            table = tables.setdefault(node.get("name"), {"columns": {}, "keys": {}})
            for child in node:
                disabled = child.get("disabled") in ("1", "true")
                if child.tag == "column":
                    if disabled:
                        table["columns"].pop(child.get("name"), None)
                    else:
                        merged = dict(table["columns"].get(child.get("name"), {}))
                        merged.update(child.attrib)
                        table["columns"][child.get("name")] = merged
                elif child.tag == "constraint":
                    if disabled:
                        table["keys"].pop(child.get("referenceId"), None)
                    elif child.get(XSI) in ("primary", "unique"):
                        table["keys"][child.get("referenceId")] = (
                            child.get(XSI), tuple(c.get("name") for c in child.findall("column")))
                    else:
                        table["keys"][child.get("referenceId")] = (
                            "foreign", (child.get("column"), child.get("referenceTable"),
                                        child.get("referenceColumn")))
    for table in tables.values():  # keys of a dropped column go with it
        names = set(table["columns"])
        table["keys"] = {k: v for k, v in table["keys"].items()
                         if v[0] == "foreign" and v[1][0] in names
                         or v[0] != "foreign" and set(v[1]) <= names}
    return tables


def _default(value: str | None, xsi_type: str, nullable: bool) -> object:
    if value is None:
        return "NULL" if nullable else None  # MariaDB reports the implicit NULL default
    if value.upper() == "CURRENT_TIMESTAMP":
        return "CURRENT_TIMESTAMP"
    if xsi_type == "boolean":
        return Decimal(1 if value.lower() in ("true", "1") else 0)
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def _db_default(value: str | None) -> object:
    if value is None or value == "NULL":
        return value
    if value.lower().startswith("current_timestamp"):
        return "CURRENT_TIMESTAMP"
    if value.startswith("'") and value.endswith("'"):
        text = value[1:-1].replace("''", "'")
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    return Decimal(value)


@pytest.fixture(scope="module", params=EDITIONS)
def loaded(request, stack):
    name = f"schema_{request.param}"
    create_commerce_database(stack.endpoints.mysql, name, request.param)
    conn = stack.endpoints.mysql.connect()
    yield request.param, name, conn
    conn.close()


def _rows(conn, sql: str, *args) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


@requires_reference(MAGENTO_SCHEMA_DIR)
def test_columns_types_and_keys_match_magento(loaded) -> None:
    edition, db, conn = loaded
    expected = expected_tables(edition)
    assert set(expected) == set(table_names(edition))
    columns = {}
    for table, column, data_type, column_type, nullable, default, extra, length, precision, scale in _rows(
            conn, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,"
                  " EXTRA, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE"
                  " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s", db):
        columns.setdefault(table, {})[column] = dict(
            data_type=data_type, unsigned="unsigned" in column_type, nullable=nullable == "YES",
            default=_db_default(default), identity="auto_increment" in extra, length=length,
            precision=precision, scale=scale)
    keys: dict[str, set] = {}
    for table, index, non_unique, column in _rows(
            conn, "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM "
                  "information_schema.STATISTICS WHERE TABLE_SCHEMA=%s "
                  "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", db):
        if non_unique == 0:
            keys.setdefault(table, {}).setdefault(index, []).append(column)
    foreign = {(t, c, rt, rc) for t, c, rt, rc in _rows(
        conn, "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM "
              "information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA=%s "
              "AND REFERENCED_TABLE_NAME IS NOT NULL", db)}

    mismatches = []
    for table, spec in expected.items():
        actual = columns.get(table, {})
        if set(actual) != set(spec["columns"]):
            mismatches.append((table, "columns", sorted(set(actual) ^ set(spec["columns"]))))
            continue
        for name, attrs in spec["columns"].items():
            xsi_type, col = attrs[XSI], actual[name]
            nullable = attrs.get("nullable", "true") == "true"
            want = dict(
                data_type=DATA_TYPE.get(xsi_type, xsi_type),
                unsigned=attrs.get("unsigned") == "true",
                nullable=nullable,
                identity=attrs.get("identity") == "true",
                default=None if attrs.get("identity") == "true" else
                _default(attrs.get("default"), xsi_type, nullable),
            )
            got = {k: col[k] for k in want}
            if xsi_type == "varchar":
                want["length"], got["length"] = int(attrs.get("length", 255)), col["length"]
            if xsi_type == "decimal":
                want["ps"] = (int(attrs.get("precision", 10)), int(attrs.get("scale", 0)))
                got["ps"] = (col["precision"], col["scale"])
            if want != got:
                mismatches.append((table, name, want, got))
        unique = {tuple(cols) for cols in keys.get(table, {}).values()}
        want_unique = {cols for kind, cols in spec["keys"].values() if kind in ("primary", "unique")}
        if unique != want_unique:
            mismatches.append((table, "unique keys", want_unique, unique))
        primary = tuple(keys.get(table, {}).get("PRIMARY", ()))
        want_primary = next(cols for kind, cols in spec["keys"].values() if kind == "primary")
        if primary != want_primary:
            mismatches.append((table, "primary key", want_primary, primary))
        want_fk = {(table, *ref) for kind, ref in spec["keys"].values()
                   if kind == "foreign" and ref[1] in expected}
        got_fk = {fk for fk in foreign if fk[0] == table}
        if got_fk != want_fk:
            mismatches.append((table, "foreign keys", want_fk ^ got_fk))
    assert mismatches == []


def test_edition_specific_shapes(loaded) -> None:
    """What the listener relies on, per commerce-schema-notes: staging keys and sequences."""
    edition, db, conn = loaded

    def primary(table: str) -> list[str]:
        return [r[0] for r in _rows(conn, "SELECT COLUMN_NAME FROM information_schema.STATISTICS "
                                          "WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s AND "
                                          "INDEX_NAME='PRIMARY' ORDER BY SEQ_IN_INDEX", db, table)]

    def column_names(table: str) -> set[str]:
        return {r[0] for r in _rows(conn, "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                                          "WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s", db, table)}

    tables = {r[0] for r in _rows(conn, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                        "WHERE TABLE_SCHEMA=%s", db)}
    for entity in SEQUENCE_ENTITIES[edition]:
        assert {f"sequence_{entity}_0", f"sequence_{entity}_1"} <= tables
    value_tables = [f"catalog_product_entity_{t}" for t in ("decimal", "varchar", "int", "datetime", "text")]
    if edition == "open_source":
        assert primary("catalog_product_entity") == ["entity_id"]
        assert not tables & {"sequence_product", "magento_rma", "magento_rma_item_entity"}
        for table in value_tables:
            assert "entity_id" in column_names(table) and "row_id" not in column_names(table)
        assert "qty_returned" not in column_names("sales_order_item")
    else:
        assert primary("catalog_product_entity") == ["row_id"]
        assert {"entity_id", "created_in", "updated_in"} <= column_names("catalog_product_entity")
        assert {"sequence_product", "magento_rma", "magento_rma_item_entity", "magento_rma_grid",
                "magento_rma_status_history"} <= tables
        for table in value_tables:
            assert "row_id" in column_names(table) and "entity_id" not in column_names(table)
        assert "qty_returned" in column_names("sales_order_item")


@requires_reference(MAGENTO_SCHEMA_DIR)
def test_committed_ddl_is_what_the_generator_makes_from_the_reference() -> None:
    for edition in EDITIONS:
        regenerated = generate.render(MAGENTO_SCHEMA_DIR, edition)
        committed = generate.generated_path(edition).read_text()
        assert regenerated == committed, (
            f"{edition}.sql is stale: run python -m devstack.commerce_schema.generate")


def test_merge_rules(tmp_path: Path) -> None:
    """Redeclared columns merge, disabled ones (and their keys) go, later files add tables."""
    base = tmp_path / "a.xml"
    base.write_text("""<schema xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <table name="t" engine="innodb" comment="T">
        <column xsi:type="int" name="id" unsigned="true" nullable="false" identity="true"/>
        <column xsi:type="int" name="old" unsigned="true" nullable="false"/>
        <column xsi:type="varchar" name="code" length="32" nullable="true"/>
        <constraint xsi:type="primary" referenceId="PRIMARY"><column name="id"/></constraint>
        <constraint xsi:type="unique" referenceId="T_OLD"><column name="old"/></constraint>
        <index referenceId="T_CODE" indexType="btree"><column name="code"/></index>
      </table></schema>""")
    overlay = tmp_path / "b.xml"
    overlay.write_text("""<schema xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <table name="t">
        <column xsi:type="int" name="old" disabled="true"/>
        <column xsi:type="varchar" name="code" length="64"/>
        <column xsi:type="bigint" name="added" unsigned="true" nullable="false" default="1"/>
      </table>
      <table name="u"><column xsi:type="int" name="x"/></table></schema>""")
    tables = load_tables([base, overlay])
    t = tables["t"]
    assert list(t.columns) == ["id", "code", "added"]
    assert t.columns["code"].length == 64 and t.columns["code"].nullable is True
    assert "T_OLD" not in t.constraints and "T_CODE" in t.indexes
    assert t.primary_key == ("id",) and t.comment == "T"
    assert set(tables) == {"t", "u"}
