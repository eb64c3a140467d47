"""Forms of enrollment: billing details and payment method, the waiting list, cancelling, and
staff actions."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ... import vat
from ...errors import DomainError
from ...i18n import lazy_gettext as _l
from ...submissions import OnceForm
from .models import PAY_BY_LABELS, PayBy


def _required():
    return DataRequired(message=_l("Dit veld is verplicht."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _compact(value):
    """VAT numbers are written with spaces and dots; compare them without."""
    if not isinstance(value, str):
        return value
    return re.sub(r"[\s.\-]", "", value).upper() or None


POSTCODE_PATTERNS = {
    "NL": re.compile(r"^[1-9][0-9]{3} ?[A-Z]{2}$"),
    "BE": re.compile(r"^[1-9][0-9]{3}$"),
    "DE": re.compile(r"^[0-9]{5}$"),
    "LU": re.compile(r"^(L-)?[0-9]{4}$"),
}


class BillingForm(OnceForm):
    billing_name = StringField(
        _l("Naam"), filters=[_strip], validators=[_required(), Length(max=200)]
    )
    billing_organisation = StringField(
        _l("Organisatie (optioneel)"),
        filters=[_strip],
        validators=[Optional(), Length(max=200)],
        description=_l("Vul in als uw werkgever of opdrachtgever de factuur betaalt."),
    )
    billing_street = StringField(
        _l("Straat en huisnummer"), filters=[_strip], validators=[_required(), Length(max=200)]
    )
    billing_postcode = StringField(
        _l("Postcode"),
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        validators=[_required(), Length(max=20)],
    )
    billing_city = StringField(
        _l("Plaats"), filters=[_strip], validators=[_required(), Length(max=100)]
    )
    billing_country = SelectField(_l("Land"), choices=vat.country_choices(), default="NL")
    vat_number = StringField(
        _l("Btw-nummer (optioneel)"),
        filters=[_compact],
        validators=[Optional(), Length(max=40)],
        description=_l(
            "Alleen voor organisaties, bijvoorbeeld NL123456789B01. Een organisatie in een "
            "ander EU-land met een geldig btw-nummer betaalt geen Nederlandse btw (btw verlegd)."
        ),
    )
    reference = StringField(
        _l("Inkoopnummer of kenmerk (optioneel)"),
        filters=[_strip],
        validators=[Optional(), Length(max=100)],
        description=_l("Dit zetten we op de factuur."),
    )
    pay_by = RadioField(
        _l("Betaalwijze"),
        choices=[(p.value, PAY_BY_LABELS[p]) for p in PayBy],
        validators=[InputRequired(message=_l("Kies hoe u wilt betalen."))],
    )
    accept_terms = BooleanField(
        _l("Ik ga akkoord met de annuleringsvoorwaarden van deze editie."),
        validators=[
            DataRequired(message=_l("Ga akkoord met de annuleringsvoorwaarden om in te schrijven."))
        ],
    )

    def validate_billing_postcode(self, field):
        pattern = POSTCODE_PATTERNS.get(self.billing_country.data)
        if pattern and field.data and not pattern.match(field.data):
            raise ValidationError(
                _l("Vul een geldige postcode in, bijvoorbeeld 3511 AB.")
                if self.billing_country.data == "NL"
                else _l("Vul een geldige postcode in.")
            )
        if self.billing_country.data == "NL" and field.data and " " not in field.data:
            field.data = f"{field.data[:4]} {field.data[4:]}"

    def validate_vat_number(self, field):
        try:
            field.data = vat.clean_vat_number(field.data, self.billing_country.data)
        except DomainError as exc:
            raise ValidationError(str(exc)) from None

    def use_payment_methods(self, stripe_available: bool) -> None:
        if not stripe_available:
            self.pay_by.choices = [(PayBy.INVOICE.value, PAY_BY_LABELS[PayBy.INVOICE])]
            self.pay_by.data = self.pay_by.data or PayBy.INVOICE.value
        elif not self.pay_by.data:
            self.pay_by.data = PayBy.STRIPE.value


class NewAccountFields:
    """Fields for a visitor who creates an account while enrolling."""

    email = EmailField(
        _l("E-mailadres"),
        filters=[_strip],
        validators=[
            _required(),
            Email(
                message=_l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."),
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )
    password = PasswordField(
        _l("Kies een wachtwoord"),
        validators=[_required(), Length(max=200)],
        description=_l("Minstens 10 tekens. Hiermee ziet u later uw inschrijving en factuur."),
    )
    password_confirm = PasswordField(
        _l("Herhaal wachtwoord"),
        validators=[
            _required(),
            EqualTo("password", message=_l("De wachtwoorden zijn niet gelijk.")),
        ],
    )


class ColleagueForm(Form):
    """One colleague's seat; both empty leaves the seat to be named later."""

    name = StringField(_l("Naam"), filters=[_strip], validators=[Optional(), Length(max=200)])
    email = EmailField(
        _l("E-mailadres"),
        filters=[_strip],
        validators=[
            Optional(),
            Email(
                message=_l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."),
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )

    def validate_name(self, field):
        if bool(field.data) != bool(self.email.data):
            raise ValidationError(_l("Vul naam en e-mailadres van de deelnemer in."))


# Rows shown for colleagues on the enrollment form; more seats can be named later.
COLLEAGUE_ROWS = 5


class GroupFields:
    """Enrolling colleagues: how many seats, whether the booker takes one, and who sits in the
    others (names may follow later from the booker's account)."""

    # Both optional so that a form sent without them is the booker alone, as before.
    group_size = IntegerField(
        _l("Aantal deelnemers"),
        default=1,
        validators=[
            Optional(),
            NumberRange(min=1, max=10, message=_l("Kies tussen 1 en 10 plaatsen.")),
        ],
        description=_l("Meer dan 1 als u ook collega's inschrijft."),
    )
    not_attending = BooleanField(_l("Ik neem zelf niet deel, ik schrijf alleen collega's in"))
    colleagues = FieldList(FormField(ColleagueForm), min_entries=COLLEAGUE_ROWS)

    @property
    def seat_count(self) -> int:
        return self.group_size.data or 1

    @property
    def attend_myself(self) -> bool:
        return not self.not_attending.data

    def colleague_entries(self) -> list[tuple[str, str]]:
        return [
            (row.form.name.data, row.form.email.data)
            for row in self.colleagues
            if row.form.name.data or row.form.email.data
        ]

    def is_group(self) -> bool:
        return bool(self.seat_count != 1 or not self.attend_myself or self.colleague_entries())


class SeatForm(FlaskForm):
    """The booker names a seat of their group enrollment, or puts someone else in it."""

    name = StringField(_l("Naam"), filters=[_strip], validators=[_required(), Length(max=200)])
    email = EmailField(
        _l("E-mailadres"),
        filters=[_strip],
        validators=[
            _required(),
            Email(
                message=_l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."),
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )


class EnrollForm(BillingForm, GroupFields):
    pass


class NewAccountEnrollForm(BillingForm, NewAccountFields, GroupFields):
    pass


class WaitlistForm(OnceForm):
    seats = IntegerField(
        _l("Aantal plaatsen"),
        default=1,
        validators=[
            InputRequired(message=_l("Vul het aantal plaatsen in.")),
            NumberRange(min=1, max=10, message=_l("Kies tussen 1 en 10 plaatsen.")),
        ],
        description=_l("Meer dan 1 als u ook voor collega's een plaats zoekt."),
    )
    any_edition = BooleanField(_l("Een andere datum van deze training is ook goed"))
    note = TextAreaField(
        _l("Opmerking (optioneel)"),
        filters=[_strip],
        validators=[Optional(), Length(max=500)],
        description=_l("Bijvoorbeeld de namen van uw collega's."),
    )


class NewAccountWaitlistForm(WaitlistForm, NewAccountFields):
    name = StringField(_l("Naam"), filters=[_strip], validators=[_required(), Length(max=200)])


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden (optioneel)"), filters=[_strip], validators=[Optional(), Length(max=1000)]
    )


class AdminCancelForm(CancelForm):
    refund = RadioField(
        _l("Terugbetalen"),
        choices=[
            ("policy", _l("Volgens de annuleringsvoorwaarden")),
            ("full", _l("Volledig")),
            ("none", _l("Niets")),
        ],
        default="policy",
        validators=[InputRequired(message=_l("Kies wat er wordt terugbetaald."))],
    )


class EditionCancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden voor de deelnemers"),
        filters=[_strip],
        validators=[_required(), Length(max=1000)],
    )
    confirm = BooleanField(
        _l("Ja, annuleer deze editie en betaal iedereen terug"),
        validators=[DataRequired(message=_l("Bevestig dat u de editie wilt annuleren."))],
    )


class ButtonForm(FlaskForm):
    """Only a CSRF token: for buttons that post."""
