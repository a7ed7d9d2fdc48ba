"""The house's arrows (ARCHITECTURE.md rule 1), read from the source with ``ast``.

Why a test: an import that points the wrong way compiles and runs, and the code review
of issue 10 found two (``sip`` importing ``media``, and ``phone/call.py`` and
``phone/bridge.py`` importing each other). Every ``import`` counts, including those under
``if TYPE_CHECKING:``: a type that points the wrong way is a dependency that points the
wrong way, and it becomes a runtime import at the first refactoring.

The rules, per top-level package of ``confero`` (its *layer*):
- ``domain`` imports nothing of ours; ``app`` imports only ``domain``;
- ``sip`` imports only ``sip`` (SIP knows nothing of media);
- the other adapters import ``app``, ``domain``, the settings and the package's version,
  and no other adapter, except ``phone -> sip, media`` and ``webrtc -> media``;
- ``server`` and ``cli`` (the composition root) may import everything;
- ``heap`` (the process's garbage-collector policy) imports nothing of ours;
- ``observe`` (metrics and logs, issue 18) imports nothing of ours, and every adapter
  but ``sip`` may use it, like a library; ``domain`` and ``app`` may not (the app
  reports through plain callbacks the composition root points at the metrics);
- no import cycle between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import confero

SRC = Path(confero.__file__).resolve().parent
ROOT = "confero"  # the package itself: ``from confero import __version__``

ADAPTERS = frozenset({"store", "bus", "media", "sip", "notify", "web", "webrtc", "phone"})
#: Not adapters: the settings (pydantic, no I/O) and the package root (its version).
SHARED = frozenset({"config", ROOT, "observe"})
SIDEWAYS = {"phone": frozenset({"sip", "media"}), "webrtc": frozenset({"media"})}
#: Layer -> the layers it may import besides itself; None: any.
ALLOWED: dict[str, frozenset[str] | None] = {
    "domain": frozenset(),
    "app": frozenset({"domain"}),
    "sip": frozenset(),
    "config": frozenset(),
    "heap": frozenset(),
    "observe": frozenset(),
    ROOT: frozenset(),
    "server": None,
    "cli": None,
    **{
        a: frozenset({"app", "domain"}) | SHARED | SIDEWAYS.get(a, frozenset())
        for a in ADAPTERS - {"sip"}
    },
}
#: Import cycles still open, each named by its modules, with the issue that removes it.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, ``confero.phone.call``
    target: str  # the imported module (or package), ``confero.sip.ua``
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ROOT


def _resolve(source: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(source: str, path: Path) -> Iterator[Import]:
    """Every import of ours in one module: ``from pkg import mod`` names ``pkg.mod``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    yield Import(source, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(source, path, node)
            if base.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield Import(source, full if full in MODULES else base, node.lineno)


IMPORTS: list[Import] = [i for m, p in MODULES.items() for i in imports_of(m, p)]


def find_cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def module_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in imports:
        if i.target in MODULES:
            graph[i.source].add(i.target)
    return graph


def against_the_arrows(imports: list[Import]) -> list[str]:
    wrong = []
    for i in imports:
        source, target = layer(i.source), layer(i.target)
        allowed = ALLOWED[source]
        if source != target and allowed is not None and target not in allowed:
            wrong.append(str(i))
    return wrong


def test_the_walk_sees_the_package() -> None:
    assert {"domain", "app", "sip", "media", "phone", "webrtc", "web"} <= {
        layer(m) for m in MODULES
    }
    assert any(str(i).startswith("confero.phone.call:") for i in IMPORTS)
    assert all(layer(m) in ALLOWED for m in MODULES), "a new top-level package: give it rules"


def test_arrows_point_down_and_adapters_do_not_call_sideways() -> None:
    wrong = against_the_arrows(IMPORTS)
    assert not wrong, "imports against the house's arrows:\n" + "\n".join(wrong)


def test_sip_imports_nothing_but_sip() -> None:
    outside = [str(i) for i in IMPORTS if layer(i.source) == "sip" and layer(i.target) != "sip"]
    assert not outside, "\n".join(outside)


def test_no_import_cycles() -> None:
    cycles = [sorted(c) for c in find_cycles(module_graph(IMPORTS)) if c not in KNOWN_CYCLES]
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_catch_what_the_review_of_issue_10_found() -> None:
    """The checks themselves, on the two findings: SIP importing media, and the phone call
    and its bridge importing each other (one of them only for typing)."""
    found = [
        Import("confero.sip.ua", "confero.media.dtmf", 18),
        Import("confero.sip.offer_answer", "confero.media.g711", 16),
        Import("confero.app.actor", "confero.store.models", 1),
        Import("confero.phone.call", "confero.webrtc.gateway", 1),
    ]
    assert len(against_the_arrows(found)) == 4
    fine = [Import("confero.phone.call", "confero.sip.ua", 1)]
    assert against_the_arrows(fine) == []
    graph = {"a": {"b"}, "b": {"a"}, "c": {"c"}, "d": {"a"}}
    assert sorted(map(sorted, find_cycles(graph))) == [["a", "b"], ["c"]]
