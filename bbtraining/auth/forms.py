from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm
from .models import ORGANISATION_KIND_LABELS


def _required():
    return DataRequired(message=_l("Dit veld is verplicht."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email():
    return Email(
        message=_l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."),
        check_deliverability=False,
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), filters=[_strip], validators=[_required(), _email()])
    password = PasswordField(_l("Wachtwoord"), validators=[_required()])
    remember = BooleanField(_l("Ingelogd blijven op dit apparaat"))


class RegisterForm(OnceForm):
    name = StringField(_l("Naam"), filters=[_strip], validators=[_required(), Length(max=200)])
    email = EmailField(
        _l("E-mailadres"), filters=[_strip], validators=[_required(), _email(), Length(max=254)]
    )
    password = PasswordField(
        _l("Wachtwoord"),
        validators=[_required(), Length(max=200)],
        description=_l("Minstens 10 tekens. Een zin van een paar woorden werkt goed."),
    )
    password_confirm = PasswordField(
        _l("Herhaal wachtwoord"),
        validators=[
            _required(),
            EqualTo("password", message=_l("De wachtwoorden zijn niet gelijk.")),
        ],
    )
    account_type = RadioField(
        _l("Ik ben"),
        choices=[
            ("facilitator", _l("gespreksbegeleider en wil trainingen volgen")),
            ("client", _l("contactpersoon van een gemeente, provincie of andere organisatie")),
        ],
        default="facilitator",
        validators=[_required()],
    )
    organisation_name = StringField(_l("Naam van uw organisatie"), validators=[Length(max=200)])
    organisation_kind = SelectField(
        _l("Soort organisatie"),
        choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()],
        default="gemeente",
    )

    def validate_organisation_name(self, field):
        if self.account_type.data == "client" and not (field.data or "").strip():
            raise ValidationError(_l("Vul de naam van uw organisatie in."))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), filters=[_strip], validators=[_required(), _email()])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("Nieuw wachtwoord"), validators=[_required(), Length(max=200)])
    password_confirm = PasswordField(
        _l("Herhaal nieuw wachtwoord"),
        validators=[
            _required(),
            EqualTo("password", message=_l("De wachtwoorden zijn niet gelijk.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Huidig wachtwoord"), validators=[_required()])


class ResendVerificationForm(FlaskForm):
    pass
