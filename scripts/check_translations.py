"""List message catalog entries that still need a translator; exit 1 if there are any.

Dutch is the source language: every msgid is Dutch, the nl catalog may leave msgstr empty (it
falls back to the msgid) and en must translate everything. After adding strings:

    make extract                                   # pybabel extract + update
    .venv/bin/python scripts/check_translations.py  # what is left to translate in en
    make translations                              # compile the .mo files

Reported per catalog:
- out of sync: a msgid in messages.pot missing from the catalog, or the other way round
  (run `make extract`); with --sources also msgids in the code missing from messages.pot;
- obsolete (#~) entries, which `make extract` no longer keeps;
- for translated locales (default: en): empty msgstr, including one empty plural form;
- fuzzy entries: pybabel's guesses, which `make translations` would compile as if checked;
- placeholders: the %(name)s, %(name)d and %% of each msgstr must equal those of its msgid
  (a plural form is compared with msgid_plural, the singular with msgid).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "bbtraining" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
SOURCE_LOCALE = "nl"
# The same keywords as `make extract`.
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None}

_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")


def placeholders(text: str) -> list[str]:
    """The printf-style placeholders in ``text``, sorted, "%%" included."""
    return sorted(_PLACEHOLDER.findall(text))


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _show(message: Message) -> str:
    where = ", ".join(f"{file}:{line}" for file, line in message.locations[:2])
    return f"{_key(message)!r}" + (f" ({where})" if where else "")


def _forms(message: Message) -> list[tuple[str, str]]:
    """(msgid or msgid_plural, msgstr) for every form of the message."""
    if isinstance(message.id, str):
        return [(message.id, message.string if isinstance(message.string, str) else "")]
    ids = list(message.id)
    strings = list(message.string) if isinstance(message.string, list | tuple) else [message.string]
    return [(ids[min(index, 1)], text or "") for index, text in enumerate(strings)]


def message_problems(message: Message, *, translated: bool) -> list[str]:
    """What is wrong with one catalog entry, as short phrases."""
    found = []
    forms = _forms(message)
    if translated and not all(text for _msgid, text in forms):
        found.append("empty msgstr")
    if message.fuzzy:
        found.append("fuzzy")
    for msgid, text in forms:
        if text and placeholders(text) != placeholders(msgid):
            found.append(
                f"placeholders {placeholders(text)} in {text!r}, expected {placeholders(msgid)}"
            )
    return found


def catalog_problems(
    locale: str, *, translated: bool | None = None, template: Catalog | None = None
) -> list[str]:
    """Every problem in one locale's catalog, one line each."""
    if translated is None:
        translated = locale != SOURCE_LOCALE
    path = po_path(locale)
    if not path.exists():
        return [f"{locale}: no catalog at {path.relative_to(ROOT)}"]
    catalog = load(path)
    template = template if template is not None else load(TEMPLATE)
    lines = []
    ours = {_key(m) for m in catalog if m.id}
    expected = {_key(m) for m in template if m.id}
    for key in sorted(expected - ours):
        lines.append(f"{locale}: missing (run make extract): {key!r}")
    for key in sorted(ours - expected):
        lines.append(f"{locale}: not in messages.pot (run make extract): {key!r}")
    for key in sorted(_key(m) for m in catalog.obsolete.values()):
        lines.append(f"{locale}: obsolete #~ entry: {key!r}")
    for message in catalog:
        if not message.id:
            continue
        for problem in message_problems(message, translated=translated):
            lines.append(f"{locale}: {problem}: {_show(message)}")
    return lines


def source_problems(template: Catalog | None = None) -> list[str]:
    """Msgids in the code (per babel.cfg) that messages.pot lacks, and stale ones it has."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    in_code = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        in_code.add(message if isinstance(message, str) else message[0])
    template = template if template is not None else load(TEMPLATE)
    in_template = {_key(m) for m in template if m.id}
    lines = [
        f"messages.pot: missing (run make extract): {k!r}" for k in sorted(in_code - in_template)
    ]
    lines += [
        f"messages.pot: stale (run make extract): {k!r}" for k in sorted(in_template - in_code)
    ]
    return lines


def problems(locales: Iterable[str] = ("en", SOURCE_LOCALE), *, sources: bool = False) -> list[str]:
    template = load(TEMPLATE)
    lines = source_problems(template) if sources else []
    for locale in locales:
        lines += catalog_problems(locale, template=template)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locales", nargs="*", default=["en", SOURCE_LOCALE], help="default: en nl")
    parser.add_argument(
        "--sources",
        action="store_true",
        help="also extract the msgids from the code and compare them with messages.pot",
    )
    args = parser.parse_args(argv)
    lines = problems(args.locales, sources=args.sources)
    for line in lines:
        print(line)
    if lines:
        print(f"{len(lines)} problem(s).", file=sys.stderr)
        return 1
    print(f"OK: {', '.join(args.locales)} complete.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
