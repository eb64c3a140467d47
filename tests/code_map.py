"""bbtraining's source as the structure tests read it: its modules and what each one imports.

The files are parsed with `ast`, never imported, so a test can name the file and line of an
import that breaks a rule even when importing the module would fail.
"""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bbtraining"
NOT_CODE = ("translations", "static")  # folders of bbtraining that hold no Python modules


@dataclass(frozen=True)
class Module:
    name: str  # dotted: bbtraining.bookings.enrollment.views
    path: Path

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))

    @property
    def package(self) -> str:
        """The package its relative imports start from."""
        if self.path.name == "__init__.py":
            return self.name
        return self.name.rpartition(".")[0]

    @functools.cached_property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @functools.cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.source, filename=self.where)


@dataclass(frozen=True)
class Import:
    module: Module
    line: int
    statement: str  # the source of the statement, on one line
    targets: tuple[str, ...]  # the bbtraining modules (or packages) it loads, absolute
    at_import: bool  # runs when the module is imported: not in a function, not for type checking

    @property
    def where(self) -> str:
        return f"{self.module.where}:{self.line}"


@functools.cache
def modules() -> tuple[Module, ...]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) > 1 and parts[1] in NOT_CODE:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(Module(".".join(parts), path))
    return tuple(found)


@functools.cache
def module_names() -> frozenset[str]:
    return frozenset(module.name for module in modules())


def imports(module: Module) -> list[Import]:
    """Every import statement of the module, at any depth, with what it resolves to."""
    found: list[Import] = []

    def visit(node: ast.AST, at_import: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(_resolve(module, child, at_import))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), False)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), at_import)
            else:
                visit(child, at_import)

    visit(module.tree, True)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: Module, node: ast.Import | ast.ImportFrom, at_import: bool) -> Import:
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.package.split(".")
            anchor = package[: len(package) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        # `from package import name` loads package.name when that is a module, else package.
        targets = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in module_names() else base
            for alias in node.names
        ]
    statement = " ".join((ast.get_source_segment(module.source, node) or "").split())
    bbtraining = tuple(
        dict.fromkeys(t for t in targets if t == "bbtraining" or t.startswith("bbtraining."))
    )
    return Import(module, node.lineno, statement, bbtraining, at_import)
