"""Forms of the advies-strippenkaart: selling (staff), logging time (advisors, staff),
correcting an entry. The rules (quarters, balance, validity) live in bundles.py; the forms
only parse what was typed."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..bookings.inhouse.forms import AmountField, DutchDateField
from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm

DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class MinutesField(IntegerField):
    """Whole minutes, with a Dutch message for what is not a number."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Vul de duur in hele minuten in, bijvoorbeeld 45.")) from exc


class SellBundleForm(OnceForm):
    organisation = SelectField(
        _l("Organisatie"),
        coerce=int,
        validators=[DataRequired(message=_l("Kies de organisatie die de strippenkaart koopt."))],
    )
    hours = AmountField(
        _l("Aantal uren"),
        default=10,
        validators=[InputRequired(message=_l("Vul het aantal uren in, bijvoorbeeld 10 of 20."))],
        description=_l("In hele uren of kwartieren (bijvoorbeeld 10 of 12,5)."),
    )
    price = AmountField(
        _l("Prijs excl. btw (€)"),
        validators=[InputRequired(message=_l("Vul de prijs van de strippenkaart in."))],
    )
    valid_from = DutchDateField(
        _l("Geldig vanaf"),
        format=DATE_FORMATS,
        validators=[InputRequired(message=_l("Vul een geldige datum in."))],
    )
    valid_until = DutchDateField(
        _l("Geldig tot en met"),
        format=DATE_FORMATS,
        validators=[Optional()],
        description=_l("Leeg laten: twaalf maanden."),
    )
    reference = StringField(
        _l("Inkoopnummer van de klant (optioneel)"),
        filters=[_strip],
        validators=[Optional(), Length(max=100)],
    )


class LogTimeForm(OnceForm):
    day = DutchDateField(
        _l("Datum van het advies"),
        format=DATE_FORMATS,
        validators=[InputRequired(message=_l("Vul de datum van het advies in."))],
    )
    minutes = MinutesField(
        _l("Duur in minuten"),
        validators=[InputRequired(message=_l("Vul een duur in van minstens een kwartier."))],
        description=_l("Per kwartier: 15, 30, 45, 60, 75 ..."),
    )
    topic = StringField(
        _l("Onderwerp"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Vul het onderwerp van het advies in.")),
            Length(max=200),
        ],
    )
    advisor = SelectField(_l("Adviseur"), coerce=int, validate_choice=False)
    note = TextAreaField(
        _l("Notitie (optioneel, ziet de klant ook)"),
        filters=[_strip],
        validators=[Optional(), Length(max=2000)],
    )


class CorrectEntryForm(FlaskForm):
    reason = StringField(
        _l("Reden van de correctie"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Geef de reden van de correctie op.")),
            Length(max=500),
        ],
    )


class ButtonForm(FlaskForm):
    """A POST with nothing but its CSRF token."""


class YearForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    year = IntegerField(_l("Jaar"), validators=[Optional(), NumberRange(min=2000, max=2100)])
