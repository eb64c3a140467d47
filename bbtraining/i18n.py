"""Translatable text, and the one way to put a value into it.

Flask-Babel's lazy string declares itself safe HTML (`__html__`), so Jinja prints it unescaped.
That is harmless for a fixed sentence, and an injection as soon as a value is interpolated:
`_l("%(value)s is geen datum", value=what_the_user_typed)` would reach the page as HTML.

Every lazily translated message in bbtraining comes from `lazy_gettext` below (imported as `_l`).
A message without values stays Flask-Babel's lazy string; a message with values becomes a
`LazyText`, which is plain text: Jinja escapes it like any other string, mails and PDFs get the
text as typed. Eager `gettext`/`ngettext` already return plain `str`, which Jinja escapes, and
templates use Jinja's own i18n calls, which escape their values. So a message never needs
`Markup`, and never carries HTML the user wrote. tests/security/test_reflected_html.py holds
the sweep over every form field and query parameter, and the check that no other module takes
`lazy_gettext` from Flask-Babel.
"""

from flask.json.provider import DefaultJSONProvider
from flask_babel import LazyString, gettext


class LazyText(LazyString):
    """A lazily translated message with values in it: text, not HTML.

    `__html__` is hidden (a property that raises AttributeError makes `hasattr` false), so
    Jinja and markupsafe escape the whole formatted message, the values included."""

    @property
    def __html__(self):
        raise AttributeError("__html__")


def lazy_gettext(string: str, **variables) -> LazyString:
    """`_l`: the message, translated when it is shown; values make it plain text."""
    if variables:
        return LazyText(gettext, string, **variables)
    return LazyString(gettext, string)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, which writes any lazy message (form errors, flashes in the session) as its
    text. Flask-Babel's lazy string got that from `__html__`; `LazyText` has none."""

    @staticmethod
    def default(o):
        if isinstance(o, LazyString):
            return str(o)
        return DefaultJSONProvider.default(o)
