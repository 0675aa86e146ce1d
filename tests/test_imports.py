"""The layers: ``openmm_bridge`` never imports ``pathgan``, and no module imports itself back in a circle.

Every import is counted, at module level or inside a function, except those under
``if TYPE_CHECKING:`` (annotations only, never executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("openmm_bridge", "pathgan")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Project modules imported by ``path`` (absolute names)."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = set()
    for node in ast.walk(tree):  # imports under `if TYPE_CHECKING:` only annotate
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}  # `from . import x` imports module x
    return {m for m in out if m.split(".")[0] in PACKAGES}


def import_graph() -> nx.DiGraph:
    """Module -> module it imports, over both packages."""
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p) for p in files}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for path in files:
        for target in _imports(path):
            while target not in modules and "." in target:  # a name imported from a module
                target = target.rpartition(".")[0]
            if target in modules and target != _module_name(path):
                graph.add_edge(_module_name(path), target)
    return graph


def test_the_lower_package_never_imports_the_upper():
    graph = import_graph()
    upward = [(a, b) for a, b in graph.edges if a.startswith("openmm_bridge") and b.startswith("pathgan")]
    assert not upward, f"openmm_bridge imports pathgan: {upward}"


def test_no_import_cycles():
    graph = import_graph()
    # a package's __init__ lists its modules by name only (lazy exports), so it imports none of them
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_the_graph_is_read_correctly():
    """The test above could pass on an empty graph: the graph has the edges we know are there."""
    graph = import_graph()
    assert graph.has_edge("pathgan.potential", "openmm_bridge.errors")
    assert graph.has_edge("openmm_bridge.steered_md", "openmm_bridge.pulling")
    assert graph.has_edge("pathgan.cli", "pathgan.cli.gan")  # `from . import gan`
    assert graph.number_of_edges() > 100
