"""Render declarative-schema tables as MariaDB/MySQL DDL, the way Magento's installer does.

Type widths follow Magento's defaults (int(10) unsigned, smallint(5) unsigned, ...), so the
columns a binlog reader sees here have the exact types it will meet on a real store.
"""

from __future__ import annotations

from collections.abc import Iterable

from devstack.commerce_schema.declarative import Column, Table

INTEGER_PADDING = {  # (signed, unsigned), Magento's defaults
    "tinyint": (4, 3),
    "smallint": (6, 5),
    "int": (11, 10),
    "bigint": (20, 20),
}
TEXT_TYPES = {"text", "mediumtext", "longtext", "blob", "mediumblob", "longblob"}


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def column_type(column: Column) -> str:
    kind = column.type
    if kind in INTEGER_PADDING:
        padding = column.padding or INTEGER_PADDING[kind][1 if column.unsigned else 0]
        return f"{kind}({padding})" + (" unsigned" if column.unsigned else "")
    if kind == "boolean":
        return "tinyint(1)"
    if kind == "decimal":
        text = f"decimal({column.precision or 10},{column.scale or 0})"
        return text + (" unsigned" if column.unsigned else "")
    if kind == "float":
        if column.precision is not None:
            text = f"float({column.precision},{column.scale or 0})"
        else:
            text = "float"
        return text + (" unsigned" if column.unsigned else "")
    if kind in ("varchar", "varbinary"):
        return f"{kind}({column.length or 255})"
    if kind in TEXT_TYPES or kind in ("date", "datetime", "timestamp", "json"):
        return kind
    raise ValueError(f"unsupported column type {kind!r} for column {column.name}")


def column_default(column: Column) -> str | None:
    """The DEFAULT clause value, or None for no clause."""
    value = column.default
    if value is None:
        return "NULL" if column.nullable and column.type not in TEXT_TYPES else None
    if column.type in ("timestamp", "datetime") and value.upper() in ("CURRENT_TIMESTAMP", "NOW()"):
        return "CURRENT_TIMESTAMP"
    if value.upper() == "NULL":
        return "NULL"
    if column.type == "boolean":
        return "1" if value.lower() in ("true", "1") else "0"
    if column.type in INTEGER_PADDING or column.type in ("decimal", "float"):
        return value
    return quote_string(value)


def column_definition(column: Column) -> str:
    parts = [quote_ident(column.name), column_type(column)]
    parts.append("NULL" if column.nullable else "NOT NULL")
    if column.identity:
        parts.append("AUTO_INCREMENT")
    else:
        default = column_default(column)
        if default is not None:
            parts.append(f"DEFAULT {default}")
    if column.on_update and column.type in ("timestamp", "datetime"):
        parts.append("ON UPDATE CURRENT_TIMESTAMP")
    if column.comment:
        parts.append(f"COMMENT {quote_string(column.comment)}")
    return " ".join(parts)


def _cols(columns: Iterable[str]) -> str:
    return ", ".join(quote_ident(c) for c in columns)


def create_table(table: Table, known_tables: set[str] | None = None) -> str:
    """CREATE TABLE with keys; foreign keys only towards tables in ``known_tables``."""
    lines = [column_definition(c) for c in table.columns.values()]
    for constraint in table.constraints.values():
        if constraint.kind == "primary":
            lines.append(f"PRIMARY KEY ({_cols(constraint.columns)})")
    for constraint in sorted(table.unique_keys, key=lambda c: c.name):
        lines.append(f"UNIQUE KEY {quote_ident(constraint.name)} ({_cols(constraint.columns)})")
    for index in sorted(table.indexes.values(), key=lambda i: i.name):
        prefix = "FULLTEXT KEY" if index.kind == "fulltext" else "KEY"
        lines.append(f"{prefix} {quote_ident(index.name)} ({_cols(index.columns)})")
    for fk in sorted(table.foreign_keys, key=lambda c: c.name):
        if known_tables is not None and fk.ref_table not in known_tables:
            continue
        lines.append(
            f"CONSTRAINT {quote_ident(fk.name)} FOREIGN KEY ({_cols(fk.columns)}) "
            f"REFERENCES {quote_ident(fk.ref_table or '')} ({_cols(fk.ref_columns)}) "
            f"ON DELETE {fk.on_delete or 'CASCADE'}"
        )
    body = ",\n  ".join(lines)
    options = f"ENGINE={'MEMORY' if table.engine == 'memory' else 'InnoDB'} "
    options += "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
    if table.comment:
        options += f" COMMENT={quote_string(table.comment)}"
    return f"CREATE TABLE {quote_ident(table.name)} (\n  {body}\n) {options};"


def dependency_order(tables: dict[str, Table]) -> list[str]:
    """Tables sorted so every foreign key points at a table created earlier (ties by name)."""
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:  # a cycle: FK checks are off while loading anyway
            return
        state[name] = 1
        for fk in sorted(tables[name].foreign_keys, key=lambda c: c.ref_table or ""):
            if fk.ref_table in tables and fk.ref_table != name:
                visit(fk.ref_table)
        state[name] = 2
        ordered.append(name)

    for name in sorted(tables):
        visit(name)
    return ordered
