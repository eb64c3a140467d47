"""Forms of the attendance sheet, check-in, guests, notes and completion overrides."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import AnyOf, Email, InputRequired, Length, Optional, ValidationError

from ...i18n import lazy_gettext as _l
from ...submissions import OnceForm
from .models import AttendanceStatus

_NO_PARTICIPANT = _l("Kies een deelnemer van de lijst.")


class _ParticipantForm(FlaskForm):
    key = HiddenField(validators=[InputRequired(message=_NO_PARTICIPANT), Length(max=160)])


class MarkForm(_ParticipantForm):
    status = StringField(
        validators=[
            InputRequired(message=_l("Kies aanwezig, afwezig of afgemeld.")),
            AnyOf(
                [s.value for s in AttendanceStatus],
                message=_l("Kies aanwezig, afwezig of afgemeld."),
            ),
        ]
    )


class ConfirmForm(_ParticipantForm):
    pass


class DetailsForm(_ParticipantForm):
    arrival = TimeField(
        _l("Aankomsttijd"),
        validators=[Optional()],
        format=["%H:%M", "%H:%M:%S"],
    )
    note = TextAreaField(
        _l("Notitie"),
        validators=[Optional(), Length(max=2000, message=_l("Hooguit 2000 tekens."))],
    )

    def validate_arrival(self, field):
        # TimeField leaves unparsable input as None with its English message; say it in Dutch.
        if field.raw_data and field.raw_data[0] and field.data is None:
            field.errors[:] = []
            raise ValidationError(_l("Vul de aankomsttijd in als uu:mm, bijvoorbeeld 09:05."))


class ButtonForm(FlaskForm):
    """Only the CSRF token: everyone present, check in."""


class CheckInForm(FlaskForm):
    grant = HiddenField(validators=[InputRequired()])


class SessionNoteForm(FlaskForm):
    text = TextAreaField(
        _l("Sessienotities"),
        validators=[Length(max=20000, message=_l("Hooguit 20.000 tekens."))],
        description=_l("Alleen zichtbaar voor trainers en medewerkers."),
    )


class GuestForm(OnceForm):
    name = StringField(
        _l("Naam"),
        validators=[InputRequired(message=_l("Vul een naam in.")), Length(max=200)],
    )
    email = EmailField(
        _l("E-mailadres"),
        validators=[
            InputRequired(message=_l("Vul een e-mailadres in.")),
            Email(message=_l("Vul een geldig e-mailadres in."), check_deliverability=False),
            Length(max=254),
        ],
    )
    role = StringField(
        _l("Functie"),
        validators=[Optional(), Length(max=100)],
        description=_l("Bijvoorbeeld raadslid of griffier (niet verplicht)."),
    )


class OverrideForm(FlaskForm):
    decision = SelectField(
        _l("Besluit"),
        choices=[
            ("completed", _l("Afgerond")),
            ("not-completed", _l("Niet afgerond")),
            ("automatic", _l("Volgens de regel")),
        ],
        validate_choice=False,  # the service refuses unknown choices with its own message
    )
    note = TextAreaField(
        _l("Toelichting"),
        validators=[Length(max=2000, message=_l("Hooguit 2000 tekens."))],
    )


class CertificateLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form that changes nothing

    code = StringField(
        _l("Verificatiecode"),
        validators=[InputRequired(message=_l("Vul de code van het certificaat in."))],
        description=_l("Staat rechtsonder op het certificaat, bijvoorbeeld ABCD-EFGH-JKLM-NPQR."),
    )
