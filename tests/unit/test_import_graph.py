"""The layering of DESIGN.md "Layout", checked on the source: every import, including the ones made only for type
checking or inside functions, is an arrow of the graph."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lakebox", "infra", "auth", "objectstore", "catalog", "management", "analytics", "audit")
DOMAIN = ("auth", "objectstore", "catalog", "management", "analytics", "audit")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def graph() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for candidate in candidates:
                # "from a.b import c" names module a.b.c when it exists, else module a.b.
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
                    break
        edges[name] = targets
    return edges


def top(module: str) -> str:
    return module.split(".")[0]


def test_nothing_imports_the_composition_package() -> None:
    offenders = sorted(
        f"{src} -> {dst}"
        for src, dsts in graph().items()
        for dst in dsts
        if top(dst) == "lakebox" and top(src) != "lakebox"
    )
    assert offenders == []


def test_infrastructure_imports_no_domain_package() -> None:
    offenders = sorted(
        f"{src} -> {dst}"
        for src, dsts in graph().items()
        if top(src) == "infra"
        for dst in dsts
        if top(dst) != "infra"
    )
    assert offenders == []


@pytest.mark.parametrize("package", DOMAIN)
def test_layers_point_down(package: str) -> None:
    """Inside a domain package, store never imports service or api, and service never imports api."""
    rank = {"store": 0, "service": 1, "api": 2}
    offenders = []
    for src, dsts in graph().items():
        src_parts = src.split(".")
        if src_parts[0] != package or len(src_parts) < 2 or src_parts[1] not in rank:
            continue
        for dst in dsts:
            dst_parts = dst.split(".")
            same_package = dst_parts[0] == package and len(dst_parts) > 1
            if same_package and dst_parts[1] in rank and rank[dst_parts[1]] > rank[src_parts[1]]:
                offenders.append(f"{src} -> {dst}")
    assert offenders == []


def test_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert [" -> ".join(c) for c in cycles] == []
