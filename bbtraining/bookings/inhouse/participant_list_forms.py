"""Forms of adding many participants to an inhouse booking at once: a pasted list or a file,
then the preview sent back to confirm (the rows are judged by `bulk`, not here)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField

from ...i18n import lazy_gettext as _l
from ...submissions import OnceForm
from .forms import _strip


class ParticipantListForm(FlaskForm):
    """A pasted list or a file; the service judges the rows (bulk.judge), nothing is saved."""

    text = TextAreaField(
        _l("Plak een lijst"),
        filters=[_strip],
        description=_l(
            "Per regel een naam en een e-mailadres, gescheiden door een tab, puntkomma of komma; "
            "een functie mag als derde. Zo plakt u ook kolommen uit Excel."
        ),
        render_kw={"rows": 8},
    )
    upload = FileField(
        _l("Of kies een bestand"),
        description=_l(
            "CSV of Excel (.xlsx), hooguit 1 MB; de eerste kolommen zijn naam en e-mailadres."
        ),
        render_kw={"accept": ".csv,.txt,.xlsx,text/csv"},
    )


class ParticipantListConfirmForm(OnceForm):
    """The previewed list, sent back as shown; confirming it is what saves."""

    text = TextAreaField(filters=[_strip])
