"""The shape of bbtraining's code: modules stay small, import without cycles, and only the
modules that own a transaction commit it.

Each test names every offender (file and line) so a failure says what to fix.
"""

import ast
from collections import deque

from tests.code_map import Import, Module, imports, module_names, modules

MAX_LINES = 600

# Where a transaction is committed: the one commit point of a request (web.py), and the code that
# runs outside a request and so owns its transaction (CLI, Celery tasks and worker, demo seeders).
COMMITTERS = {"web.py", "cli.py", "tasks.py", "celery_app.py", "worker.py", "demo.py"}
# A package with several task or demo modules names them <noun>_tasks.py / <noun>_demo.py.
COMMITTER_SUFFIXES = ("_tasks.py", "_demo.py")


def test_no_module_is_over_600_lines():
    long = [
        f"{module.where}: {lines} lines"
        for module in modules()
        if (lines := len(module.source.splitlines())) > MAX_LINES
    ]
    assert not long, f"A module over {MAX_LINES} lines is two modules:\n" + "\n".join(long)


# -- import cycles -------------------------------------------------------------------------------
def loaded_by(module: Module, found: Import) -> set[str]:
    """The bbtraining modules an import statement runs, when they were not running already.

    `from a.b import c` runs a/__init__.py and a/b/__init__.py before c, so those count too;
    except the importer's own packages: Python has always begun them before the module itself
    (that is how `from bbtraining.bookings import bp` in a view of a sub-package works).
    """
    loaded = set()
    for target in found.targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            own_package = module.name.startswith(name + ".")
            if name in module_names() and not own_package and name != module.name:
                loaded.add(name)
    return loaded


def import_graph() -> dict[str, dict[str, Import]]:
    """module -> {module it imports at import time -> the first statement that does it}."""
    graph: dict[str, dict[str, Import]] = {}
    for module in modules():
        edges = graph.setdefault(module.name, {})
        for found in imports(module):
            if found.at_import:
                for target in loaded_by(module, found):
                    edges.setdefault(target, found)
    return graph


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's components of more than one module, or of one that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, {}):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def shortest_cycle(graph: dict[str, dict[str, Import]], component: list[str]) -> list[str]:
    """A shortest way from the component's first module back to itself, inside the component."""
    start, inside = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt not in inside:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle in {component}")  # pragma: no cover - Tarjan found one


def describe(graph: dict[str, dict[str, Import]], cycle: list[str]) -> str:
    steps = [
        f"  {here} -> {there}   ({graph[here][there].where}: `{graph[here][there].statement}`)"
        for here, there in zip(cycle, cycle[1:], strict=False)
    ]
    return "\n".join(steps)


def test_no_import_cycle_at_module_level():
    graph = import_graph()
    cycles = [
        f"{len(component)} modules import each other ({', '.join(component)}), e.g.:\n"
        + describe(graph, shortest_cycle(graph, component))
        for component in strongly_connected(graph)
    ]
    assert not cycles, (
        "Modules import one another in a circle at import time; move the shared part down, or "
        "let the lower one send a signal:\n" + "\n".join(cycles)
    )


# -- commits -------------------------------------------------------------------------------------
def commits(module: Module, verb: str = "commit") -> list[int]:
    """Lines that use `session.<verb>` (`db.session.commit()`, `session.rollback()`)."""
    return sorted(
        node.lineno
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Attribute)
        and node.attr == verb
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "session")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "session")
        )
    )


def test_only_the_owners_of_a_transaction_commit():
    wrong = [
        f"{module.where}:{line}: {module.source.splitlines()[line - 1].strip()}"
        for module in modules()
        if module.path.name not in COMMITTERS and not module.path.name.endswith(COMMITTER_SUFFIXES)
        for line in commits(module)
    ]
    assert not wrong, (
        "Only web.py (for a request), CLI commands, Celery tasks and demo seeders commit; a view "
        "ends through web.commit_or_flash, a service flushes:\n" + "\n".join(wrong)
    )


def test_views_do_not_roll_back_by_hand():
    wrong = [
        f"{module.where}:{line}: {module.source.splitlines()[line - 1].strip()}"
        for module in modules()
        if "views" in module.path.parts or module.path.name.endswith("views.py")
        for line in commits(module, "rollback")
    ]
    assert not wrong, (
        "A view ends through web.commit_or_flash, which rolls back a refused change:\n"
        + "\n".join(wrong)
    )
