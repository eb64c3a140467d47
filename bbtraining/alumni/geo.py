"""The province map: shapes from static/img/nl-provinces.svg, counts from the search."""

import functools
import os
import xml.etree.ElementTree as ET  # noqa: S405 - our own file from static/, not user input
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup, escape

from .models import PROVINCES

SVG_NS = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class ProvinceShape:
    code: str
    d: Markup  # escaped once when the file is read, not on every page
    label_x: float
    label_y: float


@dataclass(frozen=True)
class MapProvince:
    code: str
    label: str
    d: Markup
    label_x: float
    label_y: float
    count: int
    level: int  # 0 (none) .. 4 (most), for the fill colour
    url: str
    selected: bool


@dataclass(frozen=True)
class ProvinceMap:
    view_box: str
    provinces: list[MapProvince]


@functools.cache
def _shapes(path: str) -> tuple[str, tuple[ProvinceShape, ...]]:
    # Our own shipped SVG (static/img), never input from anyone.
    root = ET.parse(path).getroot()  # noqa: S314  # nosec B314
    shapes = tuple(
        ProvinceShape(
            code=el.get("id"),
            d=escape(el.get("d")),
            label_x=float(el.get("data-label-x")),
            label_y=float(el.get("data-label-y")),
        )
        for el in root.iter(f"{SVG_NS}path")
        if el.get("id") in PROVINCES
    )
    return root.get("viewBox"), shapes


def province_map(
    counts: dict[str, int], *, selected: str | None, link: Callable[[str], str]
) -> ProvinceMap:
    view_box, shapes = _shapes(os.path.join(current_app.static_folder, "img", "nl-provinces.svg"))
    most = max(counts.values(), default=0) or 1
    provinces = []
    for shape in shapes:
        count = counts.get(shape.code, 0)
        level = 0 if count == 0 else min(4, 1 + int(3 * count / most))
        provinces.append(
            MapProvince(
                code=shape.code,
                label=str(PROVINCES[shape.code]),
                d=shape.d,
                label_x=shape.label_x,
                label_y=shape.label_y,
                count=count,
                level=level,
                url=link(shape.code),
                selected=shape.code == selected,
            )
        )
    return ProvinceMap(view_box=view_box, provinces=provinces)
