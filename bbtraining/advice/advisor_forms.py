"""Forms of the advisor's own pages: rules for calls, weekly hours, date overrides; and the
admin's form that makes someone an advisor. The rules themselves live in advisors.py."""

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_in_locale
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from ..i18n import lazy_gettext as _l
from .advisors import RULE_LIMITS, WEEKDAY_LABELS
from .models import OVERRIDE_KIND_LABELS

HOUR_ROWS = 14  # two stretches a day on every day of the week
REQUIRED = _l("Dit veld is verplicht.")


def _rule(label, name: str, description=None) -> IntegerField:
    lowest, highest, message = RULE_LIMITS[name]
    return IntegerField(
        label,
        description=description,
        validators=[
            InputRequired(message=REQUIRED),
            NumberRange(min=lowest, max=highest, message=message),
        ],
        render_kw={"inputmode": "numeric"},
    )


class RulesForm(FlaskForm):
    active = BooleanField(_l("Ik neem kennismakingsgesprekken aan"))
    call_minutes = _rule(_l("Duur van een gesprek (minuten)"), "call_minutes")
    buffer_before_minutes = _rule(
        _l("Vrije tijd vóór een gesprek (minuten)"), "buffer_before_minutes"
    )
    buffer_after_minutes = _rule(_l("Vrije tijd na een gesprek (minuten)"), "buffer_after_minutes")
    min_notice_hours = _rule(
        _l("Minimaal van tevoren boeken (uren)"),
        "min_notice_hours",
        _l("Ook de grens voor verplaatsen en annuleren door de klant."),
    )
    horizon_days = _rule(_l("Hoe ver vooruit te boeken (dagen)"), "horizon_days")
    max_calls_per_day = _rule(_l("Hoogstens gesprekken per dag"), "max_calls_per_day")
    travel_buffer_minutes = _rule(
        _l("Reistijd rond een training op locatie (minuten)"),
        "travel_buffer_minutes",
        _l("Zo lang voor en na een training op locatie worden geen gesprekken gepland."),
    )
    meeting_url = StringField(
        _l("Vaste videolink"),
        validators=[Optional(), Length(max=500)],
        description=_l("Komt in de bevestiging van elk online gesprek, beginnend met https://."),
    )


class HourRowForm(Form):
    """One stretch of weekly hours; a row without a day is skipped."""

    class Meta:
        # A plain sub-form would speak WTForms' English ("Not a valid time value.").
        def get_translations(self, form):
            return wtforms_in_locale

    weekday = SelectField(
        _l("Dag"),
        choices=[("", "—")] + [(str(i), label) for i, label in enumerate(WEEKDAY_LABELS)],
        validators=[Optional()],
    )
    starts = TimeField(_l("Van"), validators=[Optional()])
    ends = TimeField(_l("Tot"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.weekday.data and (self.starts.data is None or self.ends.data is None):
            self.ends.errors = [*self.ends.errors, _l("Vul een begin- en eindtijd in.")]
            return False
        if not self.weekday.data and (self.starts.data or self.ends.data):
            self.weekday.errors = [*self.weekday.errors, _l("Kies een dag van de week.")]
            return False
        return True


class HoursForm(FlaskForm):
    rows = FieldList(FormField(HourRowForm), min_entries=HOUR_ROWS, max_entries=HOUR_ROWS)

    def filled_rows(self) -> list:
        return [
            (int(row.weekday.data), row.starts.data, row.ends.data)
            for row in self.rows
            if row.weekday.data
        ]


class OverrideForm(FlaskForm):
    day = DateField(_l("Datum"), validators=[InputRequired(message=REQUIRED)])
    kind = SelectField(
        _l("Soort"),
        choices=[(kind.value, label) for kind, label in OVERRIDE_KIND_LABELS.items()],
    )
    starts = TimeField(_l("Van"), validators=[Optional()])
    ends = TimeField(_l("Tot"), validators=[Optional()])
    note = StringField(_l("Notitie"), validators=[Optional(), Length(max=200)])


class MakeAdvisorForm(FlaskForm):
    email = StringField(
        _l("E-mailadres van de medewerker"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            InputRequired(message=REQUIRED),
            Email(message=_l("Vul een geldig e-mailadres in."), check_deliverability=False),
            Length(max=254),
        ],
    )
