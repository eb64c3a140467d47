from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_in_locale
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm
from .models import AUDIENCE_LABELS, COURSE_KIND_LABELS, DELIVERY_LABELS, PHASE_LABELS

MAX_SESSIONS = 20


_CONTROL = {i: None for i in range(32) if chr(i) not in "\n\r\t"} | {127: None}


def _strip(value):
    """Trim, and drop control characters: NUL cannot even be stored in PostgreSQL text."""
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


def _required():
    return DataRequired(message=_l("Dit veld is verplicht."))


def _whole_number(minimum: int, maximum: int, message):
    return NumberRange(min=minimum, max=maximum, message=message)


class AmountField(Field):
    """A euro amount as Dutch people type it: 1450, 1450,50, 1.450,50 or € 1.450,50."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.2f}".replace(".", ",")

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].replace("€", "").replace(" ", "").strip()
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(
                _l("Vul een bedrag in euro in, bijvoorbeeld 1450 of 1450,50.")
            ) from exc
        if not amount.is_finite() or amount < 0:
            raise ValueError(_l("Vul een bedrag van 0 of meer in."))
        if amount >= Decimal("100000000"):
            raise ValueError(_l("Dit bedrag is te hoog; controleer het bedrag."))
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(_l("Een bedrag heeft hoogstens twee cijfers achter de komma."))
        self.data = amount


def _deadline_field() -> DateTimeLocalField:
    return DateTimeLocalField(
        _l("Inschrijven kan tot"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description=_l("Laat leeg: inschrijven kan tot de eerste sessie begint."),
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CourseForm(OnceForm):
    title = StringField(_l("Titel"), filters=[_strip], validators=[_required(), Length(max=200)])
    slug = StringField(
        _l("Webadres (slug)"),
        filters=[_strip, lambda v: v.lower() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=120)],
        description=_l(
            "Het laatste deel van /courses/…; laat leeg om het uit de titel te maken. "
            "Na publicatie verandert het niet meer."
        ),
    )
    kind = SelectField(
        _l("Soort training"),
        choices=[(k.value, label) for k, label in COURSE_KIND_LABELS.items()],
        validators=[_required()],
    )
    audience = SelectField(
        _l("Doelgroep"),
        choices=[(a.value, label) for a, label in AUDIENCE_LABELS.items()],
        validators=[_required()],
    )
    delivery = SelectField(
        _l("Vorm"),
        choices=[(d.value, label) for d, label in DELIVERY_LABELS.items()],
        validators=[_required()],
    )
    phases = MultiCheckboxField(
        _l("Fasen van een burgerberaad"),
        choices=[(p.value, label) for p, label in PHASE_LABELS.items()],
        validators=[DataRequired(message=_l("Kies minstens één fase."))],
    )
    summary = TextAreaField(
        _l("Korte omschrijving"),
        filters=[_strip],
        validators=[Length(max=500)],
        description=_l("Eén of twee zinnen voor het overzicht."),
    )
    description = TextAreaField(
        _l("Beschrijving"),
        filters=[_strip],
        validators=[Length(max=20000)],
        description=_l("Laat een regel leeg tussen alinea's."),
    )
    learning_goals = TextAreaField(
        _l("Leerdoelen"),
        filters=[_strip],
        validators=[Length(max=5000)],
        description=_l("Eén leerdoel per regel."),
    )
    duration_minutes = IntegerField(
        _l("Duur per sessie (minuten)"),
        default=180,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(15, 24 * 60, _l("Een sessie duurt tussen 15 minuten en een dag.")),
        ],
    )
    session_count = IntegerField(
        _l("Aantal sessies"),
        default=1,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(1, MAX_SESSIONS, _l("Tussen 1 en 20 sessies.")),
        ],
    )
    price_inhouse = AmountField(
        _l("Prijs per sessie, inhouse (excl. btw)"),
        description=_l("Nodig voor inhouse-trainingen."),
    )
    price_seat = AmountField(
        _l("Prijs per deelnemer, open inschrijving (excl. btw)"),
        description=_l("Nodig voor open inschrijving."),
    )
    vat_rate = AmountField(_l("Btw-tarief (%)"), default=Decimal("21.00"), validators=[_required()])
    max_group_size = IntegerField(
        _l("Maximale groepsgrootte"),
        default=20,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(1, 500, _l("De maximale groepsgrootte moet minstens 1 zijn.")),
        ],
    )
    qualifies_for_alumni = BooleanField(
        _l("Wie deze training afrondt, kan zich aansluiten bij de alumnipool")
    )
    completion_min_percent = IntegerField(
        _l("Minimale aanwezigheid om af te ronden (%)"),
        default=100,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(1, 100, _l("Het aanwezigheidspercentage ligt tussen 1 en 100.")),
        ],
    )


class SessionRowForm(Form):
    """One session of an edition, as local date and times; an empty date skips the row."""

    class Meta:
        # A plain sub-form would speak WTForms' English ("Not a valid time value.").
        def get_translations(self, form):
            return wtforms_in_locale

    day = DateField(_l("Datum"), validators=[Optional()])
    start = TimeField(_l("Begin"), validators=[Optional()])
    end = TimeField(_l("Einde"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.day.data and (self.start.data is None or self.end.data is None):
            self.end.errors = [*self.end.errors, _l("Vul een begin- en eindtijd in.")]
            return False
        return True


class EditionForm(OnceForm):
    capacity = IntegerField(
        _l("Capaciteit (plaatsen)"),
        validators=[InputRequired(message=_l("Vul het aantal plaatsen in."))],
    )
    location = StringField(
        _l("Locatie"),
        filters=[_strip],
        validators=[Length(max=300)],
        description=_l("Adres en zaal, bijvoorbeeld: Stadhuis Utrecht, Stadhuisbrug 1."),
    )
    online_url = URLField(
        _l("Online link"),
        filters=[_strip],
        validators=[
            Optional(),
            URL(message=_l("Vul een volledige link in, beginnend met https://.")),
            Length(max=500),
        ],
    )
    enrollment_deadline = _deadline_field()
    price_seat = AmountField(
        _l("Afwijkende prijs per deelnemer (excl. btw)"),
        description=_l("Laat leeg voor de prijs van de training."),
    )
    free_cancellation_days = IntegerField(
        _l("Kosteloos annuleren tot (dagen voor de start)"),
        default=14,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(0, 365, _l("Tussen 0 en 365 dagen.")),
        ],
    )
    late_refund_percent = IntegerField(
        _l("Terugbetaling bij later annuleren (%)"),
        default=0,
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            _whole_number(0, 100, _l("Tussen 0 en 100 procent.")),
        ],
    )
    cancellation_policy = TextAreaField(
        _l("Annuleringsvoorwaarden (toelichting)"), filters=[_strip], validators=[Length(max=2000)]
    )
    trainers = MultiCheckboxField(_l("Trainers"), coerce=int, validators=[Optional()])
    sessions = FieldList(FormField(SessionRowForm), min_entries=1, max_entries=MAX_SESSIONS)


class EditionDetailsForm(FlaskForm):
    """Place, online link, enrollment deadline and price of a scheduled edition."""

    location = StringField(
        _l("Locatie"),
        filters=[_strip],
        validators=[Length(max=300, message=_l("Een locatie is hooguit 300 tekens lang."))],
        description=_l("Wie een uitnodiging heeft, krijgt een bijgewerkte en een korte e-mail."),
    )
    # Checked by the service (https, a host, no spaces), which says what is wrong in Dutch.
    online_url = StringField(
        _l("Online link"),
        filters=[_strip],
        description=_l("Beginnend met https://. Laat leeg als de training niet online is."),
    )
    enrollment_deadline = _deadline_field()
    price_seat = AmountField(
        _l("Afwijkende prijs per deelnemer (excl. btw)"),
        description=_l(
            "Laat leeg voor de prijs van de training. Geldt voor nieuwe inschrijvingen; wie al "
            "ingeschreven is, houdt zijn prijs."
        ),
    )


class TrainersForm(FlaskForm):
    trainers = MultiCheckboxField(_l("Trainers"), coerce=int, validators=[Optional()])


class CapacityForm(FlaskForm):
    capacity = IntegerField(
        _l("Nieuwe capaciteit"),
        validators=[InputRequired(message=_l("Vul het aantal plaatsen in."))],
    )


class DuplicateForm(OnceForm):
    first_day = DateField(
        _l("Nieuwe datum van de eerste sessie"),
        validators=[InputRequired(message=_l("Kies een datum."))],
        description=_l("De andere sessies schuiven evenveel dagen mee; de tijden blijven gelijk."),
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden (voor deelnemers en trainers)"), filters=[_strip], validators=[Length(max=1000)]
    )


class MoveSessionForm(FlaskForm):
    day = DateField(_l("Datum"), validators=[InputRequired(message=_l("Kies een datum."))])
    start = TimeField(_l("Begin"), validators=[InputRequired(message=_l("Vul een begintijd in."))])
    end = TimeField(_l("Einde"), validators=[InputRequired(message=_l("Vul een eindtijd in."))])
    location = StringField(_l("Locatie"), filters=[_strip], validators=[Length(max=300)])
    note = TextAreaField(
        _l("Toelichting voor deelnemers"),
        filters=[_strip],
        validators=[Length(max=1000)],
        description=_l("Komt in de bijgewerkte agenda-uitnodiging."),
    )


class TrainerBioForm(FlaskForm):
    bio = TextAreaField(
        _l("Over deze trainer"),
        filters=[_strip],
        validators=[Length(max=2000)],
        description=_l("Staat op de pagina's van trainingen die deze trainer geeft."),
    )


class ConfirmForm(FlaskForm):
    """Button-only forms: nothing but the CSRF token."""
