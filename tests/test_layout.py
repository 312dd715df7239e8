"""The package layout stays true: imports flow down the layers, no import circles, small modules,
and `loyalty --help` imports no chain or SQL library.

Parses the sources with `ast` (nothing is imported), so a violation names the file and line.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("loyalty_ledger", "api")
MAX_LINES = 400

# Lower layers first; a unit may import only from strictly lower layers (and within itself).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors"}),
    frozenset({"config", "validate", "expiry", "retry", "health"}),
    frozenset({"mail"}),  # sends with the settings: above config, below everything that mails
    frozenset({"chain", "store"}),
    frozenset({"ledger", "indexer"}),
    frozenset({"programme", "auth"}),
    frozenset({"insights", "audit"}),
    frozenset({"crm"}),
    frozenset({"demo"}),
    frozenset({"api"}),
    frozenset({"service"}),
    frozenset({"cli"}),
)
# Pairs that the layers would allow but the design forbids.
FORBIDDEN = {("audit", "indexer"): "the audit is independent of the indexer on purpose"}
ROOT_MODULES = {"loyalty_ledger"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _unit(module: str) -> str | None:
    """The layer unit a module belongs to: `api`, or the first name below `loyalty_ledger`."""
    parts = module.split(".")
    if parts[0] == "api":
        return "api"
    if parts[0] != "loyalty_ledger" or module in ROOT_MODULES or parts[-1] == "__main__":
        return None  # `python -m` entry points stand outside the layers
    if "migrations" in parts:
        return None
    return parts[1]


def _rank(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"unit {unit!r} is in no layer: add it to LAYERS in {__file__}")


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_pkg else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def imports_of(module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the module, wherever it stands."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub if sub in MODULES else target, node.lineno))
    return [(m, line) for m, line in out if m.split(".")[0] in PACKAGES and m in MODULES]


def test_every_unit_is_in_a_layer_and_documented() -> None:
    for module, path in MODULES.items():
        unit = _unit(module)
        if unit is None:
            continue
        _rank(unit)
        if path.name == "__init__.py" and module.count(".") == 1 and unit != "api":
            doc = ast.get_docstring(ast.parse(path.read_text()))
            assert doc and len(doc) > 80, f"{path}: say what the package owns and may import"


def test_imports_flow_down_the_layers() -> None:
    wrong = []
    for module in MODULES:
        unit = _unit(module)
        if unit is None:
            continue
        for target, line in imports_of(module):
            tunit = _unit(target)
            if tunit is None or tunit == unit:
                continue
            why = FORBIDDEN.get((unit, tunit))
            if why or _rank(tunit) >= _rank(unit):
                rel = MODULES[module].relative_to(ROOT)
                wrong.append(
                    f"{rel}:{line}: {unit} imports {target} ({why or 'not a lower layer'})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def find_circle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import circle in `graph` (module -> imported modules), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in graph.get(m, []):
            if state.get(t) == 1:
                return [*stack[stack.index(t) :], t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (circle := visit(m)):
            return circle
    return None


def test_no_import_circles() -> None:
    graph = {m: sorted({t for t, _ in imports_of(m) if t != m}) for m in MODULES}
    circle = find_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in MODULES.values()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines (split by responsibility): {big}"


def test_the_checks_are_not_vacuous() -> None:
    """A circle and an upward import would be seen; relative imports resolve."""
    assert find_circle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_circle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert _rank("chain") < _rank("ledger") < _rank("programme") < _rank("cli")
    targets = {t for t, _ in imports_of("loyalty_ledger.indexer.derive")}
    assert {"loyalty_ledger.indexer.lots", "loyalty_ledger.indexer.state"} <= targets


def test_help_imports_no_chain_or_sql_library() -> None:
    """`loyalty --help` loads the command tree only: web3, SQLAlchemy and FastAPI stay unloaded."""
    code = (
        "import sys; import loyalty_ledger.cli.app; "
        "print(','.join(m for m in ('web3', 'sqlalchemy', 'fastapi', 'eth_account') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"`loyalty --help` imports {out.stdout.strip()}"
