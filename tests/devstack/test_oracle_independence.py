"""An oracle never shares the code it judges.

The dev stack (devstack/, and devstack/demo_activity.py, which drives the demo's store and is
to move there) judges the sidecar: its emulators decide what Walmart and Magento accept, its
agreement check decides what Walmart should show. Were they to import the sidecar's rules, a wrong
rule would pass every test. So no module there may import from the sidecar's packages, except
the components the dev stack deliberately starts and drives as a user would run them, named here
one by one. devstack/oracles/ itself may import only the standard library and itself.

Imports are read with ``ast`` (``import``, ``from ... import``, and ``importlib.import_module`` /
``__import__`` of a literal name), wherever they are in a module: inside functions too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
SIDECAR_PACKAGES = ("sync_workers", "cdc_listener", "mappings", "domain", "operations", "walmart_sync")
JUDGES = sorted((REPO / "devstack").rglob("*.py"))

# module (relative path) -> sidecar module -> names it may import from it
ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    # the fault suite runs the sidecar's own processes and tooling to kill, replay and measure them
    "devstack/chaos.py": {
        "sync_workers.push.resync": frozenset({"schedule_resync"}),      # `walmart-sync resync`, as an operator runs it
        "sync_workers.stores.value_state": frozenset({"connect_state"}),         # the state store's connection
        "plumbing.kafka": frozenset({"topic_name"}),    # the topics to rewind
        "operations.lag.kafka_lag": frozenset({"KafkaLagReader"}),  # consumer lag, to wait for a replay
    },
    # the scale-out run waits for its consumer groups to settle with their replicas, as `walmart-sync lag` reads them
    "devstack/scale_out.py": {
        "operations.lag.kafka_lag": frozenset({"KafkaLagReader"}),
    },
    # the realistic-binlog run reads back what two listener runs published: the family topics' names
    "devstack/store_traffic.py": {"domain.events": frozenset({"FAMILIES"})},
    # the dev commands plug into the sidecar's CLI
    "devstack/cli.py": {"walmart_sync.cli.common": frozenset({"EXIT_CONFIG", "EXIT_OK"})},
    # the demo runs the whole sidecar as a user would: its checks, its components, its commands
    "devstack/demo.py": {
        "operations.health": frozenset({"check_commerce_database", "check_kafka", "check_state_store"}),
        "walmart_sync.cli.common": frozenset({"print_findings", "operations"}),
        "walmart_sync.components": frozenset({"build_components"}),
        "walmart_sync.supervisor": frozenset({"Supervisor"}),
        "sync_workers.stores.value_state": frozenset({"connect_state"}),
        "sync_workers.push.listings.worker": frozenset({"build_matcher"}),  # `walmart-sync listings match`
        "sync_workers.walmart.client": frozenset({"WalmartClient"}),
        "walmart_sync.cli.listings": frozenset({"ProgressLine"}),
        "operations.lag.cli": frozenset({"format_table", "take_report"}),  # `walmart-sync lag`
        # `walmart-sync sku`'s naming of the rule, printed beside the oracle's numbers (not judged by it)
        "operations.sku_lookup": frozenset({"look_up_sku"}),
    },
    # the demo's second pass runs a second deployment of the sidecar (listener, inventory and price workers)
    "devstack/demo_default_stock.py": {
        "cdc_listener.listener": frozenset({"Listener"}),
        "cdc_listener.metrics": frozenset({"ListenerMetrics"}),
        "walmart_sync.components": frozenset({"build_components"}),
        "walmart_sync.supervisor": frozenset({"Component", "Supervisor", "listener_ready"}),
    },
}


def _imports(tree: ast.AST) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, imported name or None for ``import module``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                yield node.lineno, node.args[0].value, None


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _sidecar(module: str) -> bool:
    return module.split(".")[0] in SIDECAR_PACKAGES


def test_the_dev_stack_imports_no_sidecar_rules() -> None:
    found = []
    for path in JUDGES:
        allowed = ALLOWED.get(_relative(path), {})
        for line, module, name in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if _sidecar(module) and (name is None or name not in allowed.get(module, frozenset())):
                found.append(f"{_relative(path)}:{line} imports {module}{'.' + name if name else ''}")
    # judges importing what they judge: use devstack/oracles, or allow-list a component the stack drives
    assert found == []


def test_the_allow_list_names_only_imports_that_exist() -> None:
    used: set[tuple[str, str, str]] = set()
    for path in JUDGES:
        for _line, module, name in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if name is not None:
                used.add((_relative(path), module, name))
    listed = {(path, module, name) for path, modules in ALLOWED.items()
              for module, names in modules.items() for name in names}
    assert listed - used == set(), "allow-list entries no module imports any more: remove them"


def test_the_oracles_import_only_the_standard_library_and_themselves() -> None:
    found = []
    for path in sorted((REPO / "devstack" / "oracles").glob("*.py")):
        for line, module, _name in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and not module.startswith("devstack.oracles"):
                found.append(f"{_relative(path)}:{line} imports {module}")
    assert found == []


def test_the_checker_sees_every_form_of_import() -> None:
    source = ("import mappings.price\nfrom sync_workers.inventory import salable\n"
              "def f():\n    from domain.events import Event\n"
              "    importlib.import_module('operations.health')\n")
    assert [(m, n) for _l, m, n in _imports(ast.parse(source))] == [
        ("mappings.price", None), ("sync_workers.inventory", "salable"), ("domain.events", "Event"),
        ("operations.health", None)]
