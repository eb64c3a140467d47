"""Imports point one way: the capabilities of bookings in the order its docstring documents, and
the packages below bookings (courses, auth, notifications) know neither bookings nor alumni.

Every import counts, at any depth: a function-level import couples two modules as much as one
at the top of the file, it only hides it.
"""

import ast

import pytest

from tests.code_map import PACKAGE, imports, modules

BOOKINGS = "bbtraining.bookings"


def documented_order() -> list[list[str]]:
    """The tiers in bbtraining/bookings/__init__.py: `billing, sessions <- enrollment, ...`."""
    init = PACKAGE / "bookings" / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    [line] = [line for line in docstring.splitlines() if "<-" in line]
    return [[name.strip() for name in tier.split(",")] for tier in line.split("<-")]


def capabilities() -> set[str]:
    return {path.parent.name for path in (PACKAGE / "bookings").glob("*/__init__.py")}


def may_import() -> dict[str, set[str]]:
    """For each capability, the capabilities before it in the documented order."""
    allowed: dict[str, set[str]] = {}
    below: set[str] = set()
    for tier in documented_order():
        for name in tier:
            allowed[name] = set(below)
        below |= set(tier)
    return allowed


def capability_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[2] if dotted.startswith(BOOKINGS + ".") and len(parts) > 2 else None


def test_the_documented_order_places_every_capability_once():
    placed = [name for tier in documented_order() for name in tier]
    assert sorted(placed) == sorted(capabilities()), (
        "bbtraining/bookings/__init__.py's order must name each sub-package once: "
        f"it names {placed}, the sub-packages are {sorted(capabilities())}"
    )


def test_each_capability_imports_only_those_before_it():
    allowed = may_import()
    wrong = []
    for module in modules():
        own = capability_of(module.name)
        if own is None:
            continue
        for found in imports(module):
            reached = {capability_of(target) for target in found.targets} - {None, own}
            for other in sorted(reached - allowed.get(own, set())):
                may = ", ".join(sorted(allowed.get(own, ()))) or "no other capability"
                wrong.append(
                    f"{found.where}: `{found.statement}` - {own} imports {other}; "
                    f"it may import only: {may}"
                )
    order = " <- ".join(", ".join(tier) for tier in documented_order())
    assert not wrong, (
        f"A capability imports only those before it ({order}); "
        "a lower one that must let a higher one react sends a signal:\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("courses", ("bookings", "alumni")),
        ("auth", ("bookings", "alumni")),
        ("notifications", ("bookings", "alumni")),
        ("bookings", ("alumni",)),
    ],
)
def test_lower_packages_do_not_import_higher_ones(package, forbidden):
    prefix = f"bbtraining.{package}"
    higher = tuple(f"bbtraining.{name}" for name in forbidden)
    wrong = [
        f"{found.where}: `{found.statement}`"
        for module in modules()
        if module.name == prefix or module.name.startswith(prefix + ".")
        for found in imports(module)
        if any(t == h or t.startswith(h + ".") for t in found.targets for h in higher)
    ]
    assert not wrong, f"bbtraining/{package} may not import {', '.join(forbidden)}:\n" + "\n".join(
        wrong
    )
