"""Imports point one way: down the layers of the product, never back up, never in a circle.

    core <- audit <- accounts <- reference <- reports <- spontaneous <- surveillance <- config

core holds what every app shares and imports no app. audit and accounts are the base every
domain app may use. reference (drugs, terminology, labels) knows nothing of reports;
reports (patients, exposures, reports) nothing of detection; spontaneous (imported
spontaneous-report databases) sits beside reports and may read it; surveillance (detection
runs, signals, review) may use all of them; config (settings, URLs, Celery, WSGI) wires
everything together, and nothing imports it.

Every module of every app is read with ast, and every import counts, including those inside
functions: an import that runs late is still a dependency, and still a cycle.
"""

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BELOW_SURVEILLANCE = {"core", "audit", "accounts", "reference", "reports", "spontaneous"}
# The apps each app may import.
ALLOWED = {
    "core": set[str](),
    "audit": {"core"},
    "accounts": {"core", "audit"},
    "reference": {"core", "audit", "accounts"},
    "reports": {"core", "audit", "accounts", "reference"},
    "spontaneous": {"core", "audit", "accounts", "reference", "reports"},
    "surveillance": BELOW_SURVEILLANCE,
    "e2b": {"core", "audit", "accounts", "reference", "reports"},
    "config": BELOW_SURVEILLANCE | {"surveillance", "e2b"},
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module of the product it imports
    where: str  # path:line

    @property
    def edge(self) -> tuple[str, str]:
        return app_of(self.module), app_of(self.target)


def app_of(module: str) -> str:
    return module.partition(".")[0]


def app_names() -> list[str]:
    """The product's apps and config: the top-level packages of the repository."""
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench", "scripts"}
    )


def product_modules() -> dict[str, Path]:
    modules = {}
    for app in app_names():
        for path in (ROOT / app).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = product_modules()


def _resolve(name: str) -> str | None:
    """The product module an imported name lives in (a package for a name it defines), or
    None for a name from outside the product."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path, node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = package[: len(package) - node.level + 1]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        for alias in node.names:
            # from package import module: the module itself, not the package.
            full = f"{source}.{alias.name}"
            yield full if full in MODULES else source


def product_imports() -> list[Import]:
    found = []
    for module, path in sorted(MODULES.items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported_names(module, path, node):
                target = _resolve(name)
                if target is not None and target != module:
                    where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                    found.append(Import(module, target, where))
    return list(dict.fromkeys(found))  # from x import a, b: one import


IMPORTS = product_imports()


def cycles(edges: set[tuple[str, str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan, without recursion)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def describe(imports: list[Import]) -> str:
    return "\n".join(f"{i.where}: {i.module} imports {i.target}" for i in imports)


def test_every_app_has_a_place_in_the_layers():
    assert set(app_names()) == set(ALLOWED)


def test_imports_are_read_from_functions_and_relative_imports_too():
    # Guards the reader itself: surveillance connects its receiver inside AppConfig.ready(), and
    # the report services' package re-exports its modules with relative imports.
    found = {(i.module, i.target) for i in IMPORTS}
    assert ("surveillance.apps", "reports.signals") in found
    assert ("reports.services", "reports.services.reports") in found


def test_no_app_imports_an_app_above_it():
    upward = [i for i in IMPORTS if i.edge[0] != i.edge[1] and i.edge[1] not in ALLOWED[i.edge[0]]]
    assert not upward, "imports that point back up the layers:\n" + describe(upward)


def test_apps_import_each_other_in_no_cycle():
    edges = {i.edge for i in IMPORTS if i.edge[0] != i.edge[1]}
    found = cycles(edges)
    assert not found, f"apps that import each other: {[sorted(c) for c in found]}"


def test_modules_import_each_other_in_no_cycle():
    edges = {(i.module, i.target) for i in IMPORTS}
    found = cycles(edges)
    in_cycles = [i for i in IMPORTS if any({i.module, i.target} <= c for c in found)]
    assert not found, "modules that import each other:\n" + describe(in_cycles)
