"""Magento's declarative schema (``db_schema.xml``) read into plain table models.

Magento builds its database by merging every module's db_schema.xml: a table named twice is one
table, columns merge by name, constraints and indexes by ``referenceId``, and ``disabled="true"``
removes what an earlier module declared. Adobe Commerce's catalog staging is expressed exactly
that way, so implementing the merge is what lets one converter produce both editions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    unsigned: bool = False
    identity: bool = False
    default: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    padding: int | None = None
    on_update: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class Constraint:
    """primary, unique or foreign."""

    kind: str
    name: str
    columns: tuple[str, ...]
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    on_delete: str | None = None


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    kind: str = "btree"


@dataclass
class Table:
    name: str
    engine: str = "innodb"
    comment: str | None = None
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return next((c.columns for c in self.constraints.values() if c.kind == "primary"), ())

    @property
    def unique_keys(self) -> list[Constraint]:
        return [c for c in self.constraints.values() if c.kind == "unique"]

    @property
    def foreign_keys(self) -> list[Constraint]:
        return [c for c in self.constraints.values() if c.kind == "foreign"]


def _flag(element: ET.Element, name: str, default: bool = False) -> bool:
    value = element.get(name)
    return default if value is None else value.strip().lower() in ("true", "1")


def _int(element: ET.Element, name: str) -> int | None:
    value = element.get(name)
    return int(value) if value is not None else None


def _column(element: ET.Element, previous: Column | None) -> Column:
    declared = {
        "type": element.get(XSI_TYPE),
        "nullable": _flag(element, "nullable", True) if element.get("nullable") else None,
        "unsigned": _flag(element, "unsigned") if element.get("unsigned") else None,
        "identity": _flag(element, "identity") if element.get("identity") else None,
        "default": element.get("default"),
        "length": _int(element, "length"),
        "precision": _int(element, "precision"),
        "scale": _int(element, "scale"),
        "padding": _int(element, "padding"),
        "on_update": _flag(element, "on_update") if element.get("on_update") else None,
        "comment": element.get("comment"),
    }
    if previous is not None and declared["type"] in (None, previous.type):
        # A later module redeclares a column: what it states wins, the rest is kept.
        return replace(previous, **{k: v for k, v in declared.items() if v is not None})
    return Column(name=element.get("name", ""), **{k: v for k, v in declared.items() if v is not None})


def merge_schema_file(tables: dict[str, Table], path: Path | str, only: Iterable[str] | None = None) -> None:
    """Merge one db_schema.xml into ``tables`` with Magento's rules."""
    wanted = set(only) if only is not None else None
    root = ET.parse(path).getroot()
    for node in root.findall("table"):
        name = node.get("name", "")
        if wanted is not None and name not in wanted:
            continue
        if _flag(node, "disabled"):
            tables.pop(name, None)
            continue
        table = tables.setdefault(name, Table(name=name))
        table.engine = node.get("engine", table.engine)
        table.comment = node.get("comment", table.comment)
        for child in node:
            kind = child.get(XSI_TYPE)
            if child.tag == "column":
                column_name = child.get("name", "")
                if _flag(child, "disabled"):
                    table.columns.pop(column_name, None)
                else:
                    table.columns[column_name] = _column(child, table.columns.get(column_name))
            elif child.tag == "constraint":
                ref_id = child.get("referenceId", "")
                if _flag(child, "disabled"):
                    table.constraints.pop(ref_id, None)
                elif kind == "foreign":
                    table.constraints[ref_id] = Constraint(
                        kind="foreign",
                        name=ref_id,
                        columns=(child.get("column", ""),),
                        ref_table=child.get("referenceTable"),
                        ref_columns=(child.get("referenceColumn", ""),),
                        on_delete=child.get("onDelete", "CASCADE"),
                    )
                else:
                    table.constraints[ref_id] = Constraint(
                        kind=kind or "unique",
                        name=ref_id,
                        columns=tuple(c.get("name", "") for c in child.findall("column")),
                    )
            elif child.tag == "index":
                ref_id = child.get("referenceId", "")
                if _flag(child, "disabled"):
                    table.indexes.pop(ref_id, None)
                else:
                    table.indexes[ref_id] = Index(
                        name=ref_id,
                        columns=tuple(c.get("name", "") for c in child.findall("column")),
                        kind=child.get("indexType", "btree"),
                    )
    # A dropped column takes its keys with it, as in Magento.
    for table in tables.values():
        present = set(table.columns)
        table.constraints = {
            k: c for k, c in table.constraints.items() if set(c.columns) <= present
        }
        table.indexes = {k: i for k, i in table.indexes.items() if set(i.columns) <= present}


def load_tables(files: Iterable[Path | str], only: Iterable[str] | None = None) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    wanted = list(only) if only is not None else None
    for path in files:
        merge_schema_file(tables, path, wanted)
    return tables
