"""Forms of kennismakingsgesprekken: booking one, moving or cancelling it, and the outcome."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import EqualTo, Length, ValidationError

from ..auth.models import ORGANISATION_KIND_LABELS
from ..bookings.inhouse.forms import _email, _required, _strip, _text
from ..courses.models import PHASE_LABELS
from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm
from .models import CALL_MODE_LABELS, NEXT_STEP_LABELS

DEFAULT_TIME_ZONE = "Europe/Amsterdam"


def time_zone_or_default(value: str | None) -> str:
    """The visitor's IANA time zone as the browser reported it, or Amsterdam when unknown.

    The field is filled by a script, not typed: a value we do not know is not the visitor's
    mistake, so it falls back rather than refuses."""
    value = (value or "").strip()
    if not value or len(value) > 64 or value.startswith(("/", ".")) or ".." in value:
        return DEFAULT_TIME_ZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIME_ZONE
    return value


def parse_slot(value: str | None) -> datetime | None:
    """A slot's start as the form sends it ("2027-01-12T08:30Z", UTC), or None."""
    value = (value or "").strip()
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def slot_value(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


class SlotMixin:
    """The chosen slot, as a plain field: the choices are drawn fresh on every render, and a
    slot taken meanwhile must reach the service (which says so) instead of failing as an
    unknown choice."""

    def validate_slot(self, field):
        if parse_slot(field.data) is None:
            raise ValidationError(_l("Kies een tijdstip voor het gesprek."))

    @property
    def starts_at(self) -> datetime | None:
        return parse_slot(self.slot.data)


class BookCallForm(SlotMixin, OnceForm):
    phase = RadioField(
        _l("In welke fase is uw burgerberaad?"),
        choices=[(k.value, v) for k, v in PHASE_LABELS.items()],
        default="verkenning",
        validators=[_required()],
    )
    organisation_name = StringField(
        _l("Naam van uw organisatie"), filters=[_strip], validators=[Length(max=200)]
    )
    organisation_kind = SelectField(
        _l("Soort organisatie"),
        choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()],
        default="gemeente",
    )
    question = TextAreaField(
        _l("Waar wilt u het over hebben?"),
        filters=[_strip],
        validators=[_text(2000)],
        description=_l("Bijvoorbeeld: de opdracht van de raad, de planning, wie er meedoen."),
    )
    mode = RadioField(
        _l("Hoe wilt u spreken?"),
        choices=[(k.value, v) for k, v in CALL_MODE_LABELS.items()],
        default="online",
        validators=[_required()],
    )
    phone = TelField(
        _l("Telefoonnummer"),
        filters=[_strip],
        validators=[Length(max=40)],
        description=_l("Alleen nodig voor een telefonisch gesprek: de adviseur belt u."),
    )
    slot = StringField(_l("Tijdstip"))
    tz = HiddenField(default=DEFAULT_TIME_ZONE)
    contact_name = StringField(
        _l("Uw naam"), filters=[_strip], validators=[_required(), Length(max=200)]
    )
    contact_email = EmailField(
        _l("Uw e-mailadres"),
        filters=[_strip],
        validators=[_required(), _email(), Length(max=254)],
    )
    password = PasswordField(
        _l("Kies een wachtwoord"),
        validators=[Length(max=200)],
        description=_l(
            "Met dit account ziet u uw gesprek en wat we afspraken. Minstens 10 tekens."
        ),
    )
    password_confirm = PasswordField(
        _l("Herhaal wachtwoord"),
        validators=[EqualTo("password", message=_l("De wachtwoorden zijn niet gelijk."))],
    )

    def __init__(self, *args, needs_organisation: bool, needs_account: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_organisation = needs_organisation
        self.needs_account = needs_account
        if not needs_organisation:
            del self.organisation_name
            del self.organisation_kind
        if not needs_account:
            del self.contact_name
            del self.contact_email
            del self.password
            del self.password_confirm

    def validate_organisation_name(self, field):
        if not (field.data or "").strip():
            raise ValidationError(_l("Vul de naam van uw organisatie in."))

    def validate_password(self, field):
        if not field.data:
            raise ValidationError(_l("Kies een wachtwoord voor uw account."))

    def validate_phone(self, field):
        if self.mode.data == "phone" and not field.data:
            raise ValidationError(_l("Vul het nummer in waarop de adviseur u kan bellen."))

    @property
    def time_zone(self) -> str:
        return time_zone_or_default(self.tz.data)


class MoveCallForm(SlotMixin, FlaskForm):
    slot = StringField(_l("Nieuw tijdstip"))


class CancelCallForm(FlaskForm):
    pass


class OutcomeForm(FlaskForm):
    outcome_phase = SelectField(
        _l("Fase van het burgerberaad"),
        choices=[(k.value, v) for k, v in PHASE_LABELS.items()],
    )
    next_step = RadioField(
        _l("Afgesproken vervolg"),
        choices=[("", _l("Nog geen vervolg"))]
        + [(k.value, v) for k, v in NEXT_STEP_LABELS.items()],
        default="",
    )
    courses = SelectMultipleField(_l("Voorgestelde trainingen"), coerce=int, choices=[])
    outcome_notes = TextAreaField(
        _l("Aantekeningen (alleen voor medewerkers)"), filters=[_strip], validators=[_text()]
    )


class CallStatusForm(FlaskForm):
    status = HiddenField()


class ReassignForm(FlaskForm):
    advisor = SelectField(_l("Andere adviseur"), coerce=int, choices=[])
