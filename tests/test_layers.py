"""The import layers (ARCHITECTURE.md), checked on every test run so they cannot silently erode.

Every ``import`` of every module is read with ``ast`` (imports inside functions
and ``if TYPE_CHECKING:`` blocks count too) and checked against the table
below: a package may import only the packages under it.  Within a package the
imports must not go round in a circle, and only ``bot`` may import discord.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.settings import PROJECT_ROOT

# package -> the packages of ours it may import (itself always)
LAYERS: dict[str, set[str]] = {
    "common": set(),
    "index_store": {"common"},
    "citebot": {"common", "index_store"},
    "ingest": {"common", "index_store"},
    "insights": {"common", "index_store", "citebot"},
    "bot": {"common", "index_store", "citebot", "ingest", "insights"},
    "evals": {"common", "index_store", "citebot", "ingest"},
    "bench": {"common", "index_store", "citebot", "ingest", "insights", "bot", "evals"},
}
ONLY_IN = {"discord": {"bot"}}  # third-party packages only some of ours may use


def modules() -> Iterator[tuple[str, Path]]:
    for package in LAYERS:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_of(source: str) -> set[str]:
    """Every module name an import statement in ``source`` names (absolute imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    return {name: imports_of(path.read_text(encoding="utf-8")) for name, path in modules()}


def layer_violations(imports: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, names in sorted(imports.items()):
        package = module.split(".")[0]
        for name in sorted(names):
            top = name.split(".")[0]
            if top in LAYERS and top != package and top not in LAYERS[package]:
                problems.append(f"{module} imports {name}: {package} may import only {sorted(LAYERS[package])}")
            if top in ONLY_IN and package not in ONLY_IN[top]:
                problems.append(f"{module} imports {name}: only {sorted(ONLY_IN[top])} may import {top}")
    return problems


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Circles of imports between modules of one package."""
    edges = {
        module: sorted(n for n in names if n in imports and n != module and n.split(".")[0] == module.split(".")[0])
        for module, names in imports.items()
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in edges[module]:
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in PROJECT_ROOT.glob("*/__init__.py")}
    assert packages == set(LAYERS)


def test_imports_only_point_down():
    assert layer_violations(graph()) == []


def test_no_package_imports_itself_in_a_circle():
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_are_for():
    wrong = {
        "index_store.store": {"citebot.engine"},  # a lower layer reaching up
        "citebot.engine": {"discord"},  # the core knowing Discord
        "bot.client": {"bot.cogs.ask"},
        "bot.cogs.ask": {"bot.client"},  # a circle inside bot
    }
    assert len(layer_violations(wrong)) == 2
    assert cycles(wrong) == [["bot.client", "bot.cogs.ask", "bot.client"]]


@pytest.mark.parametrize("module", ["bot.client", "bot.cogs.ask", "bot.cogs.sources", "bot.views"])
def test_bot_modules_import_no_cog_and_no_wiring(module):
    """Cogs are loaded by name (setup_hook); nothing but the wiring imports the wiring."""
    names = graph()[module]
    assert not {n for n in names if n.startswith(("bot.discord_app", "bot.cogs"))}
