import re
from datetime import date, timedelta

from flask_babel import gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextArea

from ..i18n import LazyText
from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm
from .match_models import MATCH_ROLE_LABELS
from .models import LANGUAGES, PROVINCES, WEEKDAYS
from .photos import ACCEPT_ATTRIBUTE

MAX_RANGE_DAYS = 366


def _required():
    return DataRequired(message=_l("Dit veld is verplicht."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def example_days(count: int, *, with_range: bool = False, today: date | None = None) -> str:
    """Dates for a hint, always ahead of today (a hint with a past date reads as an error):
    Saturdays from about two months on, as people type them ('dd-mm-yyyy')."""
    start = (today or date.today()) + timedelta(days=60)
    first = start + timedelta(days=(5 - start.weekday()) % 7)
    days = [first + timedelta(weeks=i) for i in range(count)]
    parts = [d.strftime("%d-%m-%Y") for d in days]
    if with_range:
        begin = days[-1] + timedelta(weeks=4)
        parts.append(f"{begin:%d-%m-%Y} t/m {begin + timedelta(days=9):%d-%m-%Y}")
    return ", ".join(parts)


def _date_hint(count: int, with_range: bool) -> str:
    return gettext("Bijvoorbeeld: %(dates)s.", dates=example_days(count, with_range=with_range))


def date_hint(count: int, *, with_range: bool = False) -> LazyText:
    """A field description computed when the form is shown, so its dates move with the clock."""
    return LazyText(_date_hint, count, with_range)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$|^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(token: str) -> date:
    match = _DATE.match(token.strip())
    if not match:
        raise ValueError(token)
    if match.group(1):
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    else:
        year, month, day = int(match.group(4)), int(match.group(5)), int(match.group(6))
    return date(year, month, day)


def parse_dates(raw: str, *, allow_ranges: bool = False) -> list[date]:
    """'14-03-2026, 21-03-2026' or ISO dates; with ranges: '1-5-2026 t/m 10-5-2026'."""
    days: set[date] = set()
    for part in re.split(r"[,;\n]+", raw or ""):
        part = part.strip()
        if not part:
            continue
        if allow_ranges and re.search(r"\bt/m\b|\btot en met\b", part):
            start_text, end_text = re.split(r"\bt/m\b|\btot en met\b", part, maxsplit=1)
            start, end = _day_or_error(start_text), _day_or_error(end_text)
            if end < start:
                raise ValidationError(_l("In %(part)s ligt het einde voor het begin.", part=part))
            if (end - start).days >= MAX_RANGE_DAYS:
                raise ValidationError(_l("Een periode mag hooguit een jaar duren."))
            days.update(start + timedelta(days=i) for i in range((end - start).days + 1))
            continue
        for token in part.split():
            days.add(_day_or_error(token))
    return sorted(days)


def _day_or_error(token: str) -> date:
    try:
        return parse_day(token)
    except ValueError as exc:
        raise ValidationError(
            _l(
                "%(value)s is geen datum. Schrijf data als %(example)s, gescheiden door komma's.",
                value=token.strip(),
                example=example_days(1),
            )
        ) from exc


class DatesField(StringField):
    """Text with dates; `.dates` holds the parsed list after validation."""

    def __init__(self, *args, allow_ranges: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_ranges = allow_ranges
        self.dates: list[date] = []

    def pre_validate(self, form):
        self.dates = parse_dates(self.data or "", allow_ranges=self.allow_ranges)


def province_choices(blank: str | None = None):
    choices = [(code, label) for code, label in PROVINCES.items()]
    return [("", blank), *choices] if blank is not None else choices


class ProfileForm(FlaskForm):
    display_name = StringField(
        _l("Weergavenaam"),
        filters=[_strip],
        validators=[_required(), Length(max=120)],
        description=_l("Zo ziet een opdrachtgever u in de zoekresultaten."),
    )
    headline = StringField(
        _l("Kopregel"),
        filters=[_strip],
        validators=[Length(max=160)],
        description=_l(
            "Eén zin, bijvoorbeeld: Gespreksbegeleider met ervaring in jongerenberaden."
        ),
    )
    bio = TextAreaField(
        _l("Over mij"),
        filters=[_strip],
        validators=[Length(max=4000)],
        description=_l(
            "Geen e-mailadres of telefoonnummer: die delen we pas als u een verzoek accepteert."
        ),
    )
    province = SelectField(
        _l("Provincie waar u woont"), choices=province_choices(""), validators=[_required()]
    )
    municipality = StringField(_l("Gemeente"), filters=[_strip], validators=[Length(max=100)])
    travel_provinces = MultiCheckboxField(
        _l("Provincies waar u ook wilt werken"), choices=province_choices()
    )
    languages = MultiCheckboxField(
        _l("Talen waarin u begeleidt"),
        choices=list(LANGUAGES.items()),
        validators=[DataRequired(message=_l("Kies minstens één taal."))],
    )
    specialisations = MultiCheckboxField(_l("Specialisaties"), coerce=int, choices=[])
    tags = StringField(
        _l("Eigen trefwoorden"),
        filters=[_strip],
        validators=[Length(max=600)],
        description=_l("Gescheiden door komma's, bijvoorbeeld: jongeren, klimaat, mobiliteit."),
    )
    assemblies_count = IntegerField(
        _l("Aantal burgerberaden begeleid"),
        default=0,
        validators=[NumberRange(0, 1000, message=_l("Vul een getal van 0 tot 1000 in."))],
    )
    sessions_count = IntegerField(
        _l("Aantal sessies begeleid"),
        default=0,
        validators=[NumberRange(0, 10000, message=_l("Vul een getal van 0 tot 10000 in."))],
    )
    years_experience = IntegerField(
        _l("Jaren ervaring als gespreksbegeleider"),
        default=0,
        validators=[NumberRange(0, 70, message=_l("Vul een getal van 0 tot 70 in."))],
    )
    weekdays = MultiCheckboxField(
        _l("Dagen waarop u het liefst werkt"),
        coerce=int,
        choices=[(i, label) for i, label in enumerate(WEEKDAYS)],
    )
    blocked_dates = DatesField(
        _l("Data waarop u niet kunt"),
        allow_ranges=True,
        widget=TextArea(),
        description=date_hint(2, with_range=True),
    )


class PhotoForm(FlaskForm):
    photo = FileField(
        _l("Foto"),
        description=_l("JPEG, PNG of WebP, hooguit 5 MB."),
        render_kw={"accept": ACCEPT_ATTRIBUTE},
    )


class PublishForm(FlaskForm):
    consent = BooleanField(_l("Ik geef deze toestemming"))


class ButtonForm(FlaskForm):
    """Only the CSRF token: for buttons that change something."""


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search: bookmarkable, and changes nothing

    q = StringField(_l("Zoekwoorden"), filters=[_strip], validators=[Length(max=200)])
    # The service checks the values and says what is wrong, in Dutch.
    province = SelectField(
        _l("Provincie"), choices=province_choices(_l("Alle provincies")), validate_choice=False
    )
    language = MultiCheckboxField(
        _l("Talen"), choices=list(LANGUAGES.items()), validate_choice=False
    )
    specialisation = SelectField(_l("Specialisatie"), choices=[], validate_choice=False)
    tag = StringField(_l("Trefwoord"), filters=[_strip], validators=[Length(max=40)])
    min_assemblies = IntegerField(
        _l("Minimaal aantal begeleide beraden"),
        validators=[
            Optional(),
            NumberRange(0, 1000, message=_l("Vul een getal van 0 tot 1000 in.")),
        ],
    )
    min_years = IntegerField(
        _l("Minimaal aantal jaren ervaring"),
        validators=[Optional(), NumberRange(0, 70, message=_l("Vul een getal van 0 tot 70 in."))],
    )
    dates = DatesField(
        _l("Beschikbaar op deze data"),
        description=date_hint(2),
    )
    date_from = DateField(
        _l("Beschikbaar van"), validators=[Optional()], format=["%Y-%m-%d", "%d-%m-%Y"]
    )
    date_to = DateField(_l("tot en met"), validators=[Optional()], format=["%Y-%m-%d", "%d-%m-%Y"])
    course = SelectField(_l("Geverifieerde training"), choices=[], validate_choice=False)
    weekday = MultiCheckboxField(
        _l("Werkt graag op (alle gekozen dagen)"),
        choices=[(str(i), label) for i, label in enumerate(WEEKDAYS)],
        validate_choice=False,
    )
    page = IntegerField(validators=[Optional(), NumberRange(1, 10000)], default=1)


class MatchRequestForm(OnceForm):
    profiles = HiddenField()
    assembly = StringField(
        _l("Burgerberaad"),
        filters=[_strip],
        validators=[_required(), Length(max=200)],
        description=_l("Bijvoorbeeld: Burgerberaad Klimaat Utrecht 2026."),
    )
    organisation_name = StringField(
        _l("Organisatie"), filters=[_strip], validators=[Length(max=200)]
    )
    dates = DatesField(
        _l("Data van de bijeenkomsten"),
        validators=[_required()],
        description=date_hint(3),
    )
    place = StringField(_l("Plaats"), filters=[_strip], validators=[_required(), Length(max=200)])
    role = SelectField(_l("Rol"), choices=list(MATCH_ROLE_LABELS.items()), validators=[_required()])
    message = TextAreaField(
        _l("Bericht"),
        filters=[_strip],
        validators=[Length(max=3000)],
        description=_l(
            "Vertel kort over het beraad en wat u zoekt. Uw contactgegevens krijgt de "
            "begeleider pas als die accepteert."
        ),
    )


class DeclineForm(FlaskForm):
    note = TextAreaField(
        _l("Toelichting (optioneel)"), filters=[_strip], validators=[Length(max=1000)]
    )


class HideForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden"), filters=[_strip], validators=[_required(), Length(max=1000)]
    )


class QualificationForm(OnceForm):
    email = EmailField(
        _l("E-mailadres van de deelnemer"),
        filters=[_strip],
        validators=[_required(), Length(max=254)],
        render_kw={"list": "participant-emails"},
    )
    course_id = SelectField(_l("Training"), coerce=int, choices=[], validators=[_required()])
    edition_id = SelectField(_l("Editie (optioneel)"), coerce=int, choices=[], default=0)
    completed_on = DateField(_l("Afgerond op"), validators=[Optional()])
    note = TextAreaField(_l("Notitie"), filters=[_strip], validators=[Length(max=1000)])


class SpecialisationForm(FlaskForm):
    name = StringField(_l("Naam"), filters=[_strip], validators=[_required(), Length(max=80)])
    active = BooleanField(_l("Actief"), default=True)


class ShortlistForm(OnceForm):
    profiles = HiddenField()
    client_id = SelectField(_l("Opdrachtgever"), coerce=int, choices=[], validators=[_required()])
    title = StringField(_l("Titel"), filters=[_strip], validators=[_required(), Length(max=200)])
    note = TextAreaField(
        _l("Toelichting voor de opdrachtgever"), filters=[_strip], validators=[Length(max=3000)]
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Uw wachtwoord"), validators=[_required()])
    confirm = BooleanField(
        _l("Ik begrijp dat mijn account en profiel definitief verdwijnen"),
        validators=[DataRequired(message=_l("Vink aan dat u dit begrijpt."))],
    )


class CloseMatchForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden voor de opdrachtgever"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Geef een reden op; de opdrachtgever krijgt die te lezen.")),
            Length(max=2000, message=_l("Houd de reden korter dan 2000 tekens.")),
        ],
        description=_l(
            "De opdrachtgever krijgt deze reden per e-mail. Wie nog niet antwoordde, kan daarna "
            "niet meer reageren."
        ),
    )


class ForwardMatchForm(OnceForm):
    # The service checks each chosen profile against the pool's rules and says what is wrong.
    profiles = MultiCheckboxField(
        _l("Gespreksbegeleiders"), coerce=int, choices=[], validate_choice=False
    )
