"""Forms of inhouse bookings: the request, the proposal with its sessions and lines, and the
actions on a booking."""

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_in_locale
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
    URLField,
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
from wtforms.widgets import TextInput

from ...auth.models import ORGANISATION_KIND_LABELS
from ...i18n import lazy_gettext as _l
from ...submissions import OnceForm
from .models import (
    ASSEMBLY_PHASE_LABELS,
    DELIVERY_MODE_LABELS,
    LINE_KIND_LABELS,
    PART_OF_DAY_LABELS,
    STATUS_LABELS,
    LineKind,
)


def _required():
    return DataRequired(message=_l("Dit veld is verplicht."))


def _strip(value):
    # PostgreSQL refuses NUL characters in text; nobody types them on purpose.
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def _email():
    return Email(
        message=_l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."),
        check_deliverability=False,
    )


def _text(max_length: int = 5000):
    return Length(max=max_length, message=_l("Houd uw tekst korter dan %(max)d tekens."))


class DutchDateField(DateField):
    """A date input with a Dutch message when the value is not a date."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Vul een geldige datum in.")) from exc


class DutchTimeField(TimeField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Vul een geldige tijd in, bijvoorbeeld 09:30.")) from exc


class AmountField(DecimalField):
    """Money or a quantity as people type it here: "1250", "1.250,50" or "1250.50".

    A text input, not type=number: a number input refuses "1.250,50" in some browsers.
    """

    widget = TextInput(input_type="text")

    def __call__(self, **kwargs):
        kwargs.setdefault("inputmode", "decimal")
        return super().__call__(**kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        raw = valuelist[0].strip().replace("€", "").replace(" ", "")
        if "," in raw:
            raw = raw.replace(".", "").replace(",", ".")
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            self.data = None
            raise ValueError(_l("Vul een bedrag of getal in, bijvoorbeeld 1250,00.")) from exc
        if not value.is_finite():
            self.data = None
            raise ValueError(_l("Vul een bedrag of getal in, bijvoorbeeld 1250,00."))
        try:
            self.data = value.quantize(Decimal("0.01"))
        except InvalidOperation as exc:  # more digits than any amount has
            self.data = None
            raise ValueError(_l("Vul een bedrag of getal in, bijvoorbeeld 1250,00.")) from exc


PART_CHOICES = [("", _l("Dagdeel"))] + [(k.value, v) for k, v in PART_OF_DAY_LABELS.items()]


class RequestForm(OnceForm):
    organisation_name = StringField(
        _l("Naam van uw organisatie"), filters=[_strip], validators=[Length(max=200)]
    )
    organisation_kind = SelectField(
        _l("Soort organisatie"),
        choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()],
        default="gemeente",
    )
    contact_name = StringField(
        _l("Naam contactpersoon"), filters=[_strip], validators=[_required(), Length(max=200)]
    )
    contact_email = EmailField(
        _l("E-mailadres contactpersoon"),
        filters=[_strip],
        validators=[_required(), _email(), Length(max=254)],
    )
    contact_phone = TelField(
        _l("Telefoonnummer (optioneel)"), filters=[_strip], validators=[Length(max=40)]
    )
    password = PasswordField(
        _l("Kies een wachtwoord"),
        validators=[Length(max=200)],
        description=_l(
            "Met dit account volgt u uw aanvraag en accepteert u het voorstel. Minstens 10 tekens."
        ),
    )
    password_confirm = PasswordField(
        _l("Herhaal wachtwoord"),
        validators=[EqualTo("password", message=_l("De wachtwoorden zijn niet gelijk."))],
    )
    expected_participants = IntegerField(
        _l("Verwacht aantal deelnemers"),
        validators=[
            InputRequired(message=_l("Vul het verwachte aantal deelnemers in.")),
            NumberRange(min=1, max=500, message=_l("Vul een aantal tussen 1 en 500 in.")),
        ],
    )
    delivery_mode = RadioField(
        _l("Waar vindt de sessie plaats?"),
        choices=[(k.value, v) for k, v in DELIVERY_MODE_LABELS.items()],
        default="venue",
        validators=[_required()],
    )
    venue = StringField(
        _l("Plaats of adres van uw locatie"), filters=[_strip], validators=[Length(max=300)]
    )
    date_1 = DutchDateField(_l("Eerste voorkeursdatum"), validators=[Optional()])
    part_1 = SelectField(_l("Dagdeel eerste voorkeur"), choices=PART_CHOICES, default="")
    date_2 = DutchDateField(_l("Tweede voorkeursdatum (optioneel)"), validators=[Optional()])
    part_2 = SelectField(_l("Dagdeel tweede voorkeur"), choices=PART_CHOICES, default="")
    date_3 = DutchDateField(_l("Derde voorkeursdatum (optioneel)"), validators=[Optional()])
    part_3 = SelectField(_l("Dagdeel derde voorkeur"), choices=PART_CHOICES, default="")
    assembly_phase = SelectField(
        _l("In welke fase is uw burgerberaad?"),
        choices=[(k, v) for k, v in ASSEMBLY_PHASE_LABELS.items()],
        default="unknown",
    )
    assembly_context = TextAreaField(
        _l("Vertel kort over uw burgerberaad"),
        filters=[_strip],
        validators=[_text()],
        description=_l("Het onderwerp, de opdracht van de raad, de planning, wie er meedoen."),
    )
    questions = TextAreaField(_l("Vragen of wensen"), filters=[_strip], validators=[_text()])

    def __init__(self, *args, needs_organisation: bool, needs_account: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_organisation = needs_organisation
        self.needs_account = needs_account
        if not needs_organisation:
            del self.organisation_name
            del self.organisation_kind
        if not needs_account:
            del self.password
            del self.password_confirm

    def validate_organisation_name(self, field):
        if not (field.data or "").strip():
            raise ValidationError(_l("Vul de naam van uw organisatie in."))

    def validate_password(self, field):
        if not field.data:
            raise ValidationError(_l("Kies een wachtwoord voor uw account."))

    def prefill(self, args) -> None:
        """Start a new form from a link (an advisor's next step after a kennismakingsgesprek:
        `?assembly_phase=verkenning&assembly_context=...`); unknown values are left out."""
        if args.get("assembly_phase") in ASSEMBLY_PHASE_LABELS:
            self.assembly_phase.data = args["assembly_phase"]
        context = _strip(args.get("assembly_context") or "")
        if context:
            self.assembly_context.data = context[:5000]

    def validate_venue(self, field):
        if self.delivery_mode.data == "venue" and not field.data:
            raise ValidationError(_l("Vul de plaats of het adres van uw locatie in."))

    def date_options(self) -> list[tuple[date, str]]:
        return [
            (getattr(self, f"date_{n}").data, getattr(self, f"part_{n}").data)
            for n in (1, 2, 3)
            if getattr(self, f"date_{n}").data
        ]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.date_1.data and not self.date_1.errors:
            self.date_1.errors = [*self.date_1.errors, _l("Geef minstens één voorkeursdatum op.")]
            valid = False
        for n in (1, 2, 3):
            day, part = getattr(self, f"date_{n}"), getattr(self, f"part_{n}")
            if day.data and not part.data:
                part.errors = [*part.errors, _l("Kies een dagdeel bij deze datum.")]
                valid = False
        return valid


def _untouched(*fields) -> bool:
    """Nothing typed in these fields: by what was sent (an unparseable date is not nothing),
    or, for a form that was not posted, by its data."""
    for field in fields:
        if field.raw_data is not None:
            if any(str(value).strip() for value in field.raw_data):
                return False
        elif field.data not in (None, ""):
            return False
    return True


def _int_or_zero(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ProposalSessionForm(Form):
    class Meta:
        # A plain sub-form would speak WTForms' English for its own parse errors.
        def get_translations(self, form):
            return wtforms_in_locale

    day = DutchDateField(_l("Datum"), validators=[Optional()])
    start = DutchTimeField(_l("Begin"), validators=[Optional()])
    end = DutchTimeField(_l("Einde"), validators=[Optional()])
    # Choices are checked below with a Dutch message (WTForms' own is English).
    trainer_id = SelectField(
        _l("Trainer"), coerce=_int_or_zero, default=0, choices=[], validate_choice=False
    )
    location = StringField(_l("Locatie"), filters=[_strip], validators=[Length(max=300)])
    online_url = URLField(
        _l("Online link (optioneel)"), filters=[_strip], validators=[Length(max=500)]
    )

    def is_blank(self) -> bool:
        return _untouched(self.day, self.start, self.end, self.location, self.online_url)

    def check_complete(self) -> bool:
        if self.is_blank():
            return True
        ok = True
        for name in ("day", "start", "end", "location"):
            field = getattr(self, name)
            if not field.data and not field.errors:
                field.errors = [*field.errors, _l("Dit veld is verplicht.")]
                ok = False
        if self.trainer_id.data not in {value for value, _label in self.trainer_id.choices[1:]}:
            self.trainer_id.errors = [*self.trainer_id.errors, _l("Kies een trainer.")]
            ok = False
        if self.start.data and self.end.data and self.end.data <= self.start.data:
            self.end.errors = [*self.end.errors, _l("De eindtijd ligt na de begintijd.")]
            ok = False
        return ok


class LineForm(Form):
    class Meta:
        # A plain sub-form would speak WTForms' English for its own parse errors.
        def get_translations(self, form):
            return wtforms_in_locale

    kind = SelectField(
        _l("Soort"),
        choices=[(k.value, v) for k, v in LINE_KIND_LABELS.items()],
        default=LineKind.OTHER.value,
        validate_choice=False,
    )
    description = StringField(_l("Omschrijving"), filters=[_strip], validators=[Length(max=300)])
    quantity = AmountField(_l("Aantal"), validators=[Optional()])
    unit_price = AmountField(_l("Prijs per stuk excl. btw"), validators=[Optional()])

    def is_blank(self) -> bool:
        return _untouched(self.description, self.quantity, self.unit_price)

    def check_complete(self) -> bool:
        if self.is_blank():
            return True
        ok = True
        if self.kind.data not in {k.value for k in LineKind}:
            self.kind.errors = [*self.kind.errors, _l("Kies een soort kosten.")]
            ok = False
        if not self.description.data:
            self.description.errors = [*self.description.errors, _l("Dit veld is verplicht.")]
            ok = False
        if self.quantity.data is None or self.quantity.data <= 0:
            if not self.quantity.errors:
                self.quantity.errors = [*self.quantity.errors, _l("Vul een aantal boven 0 in.")]
            ok = False
        if self.unit_price.data is None or self.unit_price.data < 0:
            if not self.unit_price.errors:
                self.unit_price.errors = [
                    *self.unit_price.errors,
                    _l("Vul een prijs van 0 of meer in."),
                ]
            ok = False
        return ok


def _complete_rows(entries) -> tuple[bool, bool]:
    """(all rows complete, at least one filled). A blank row is ignored, whatever its fields'
    own validators said (an untouched select or a stray parse error in an empty row)."""
    ok, filled = True, False
    for entry in entries:
        if entry.form.is_blank():
            for subfield in entry.form:
                subfield.errors = []
            continue
        filled = True
        ok = entry.form.check_complete() and ok
        ok = ok and not any(subfield.errors for subfield in entry.form)
    return ok, filled


class ProposalForm(OnceForm):
    sessions = FieldList(FormField(ProposalSessionForm), min_entries=3, max_entries=12)
    lines = FieldList(FormField(LineForm), min_entries=4, max_entries=12)
    vat_rate = AmountField(
        _l("Btw-percentage"),
        validators=[
            InputRequired(message=_l("Dit veld is verplicht.")),
            NumberRange(min=0, max=100, message=_l("Het btw-percentage ligt tussen 0 en 100.")),
        ],
    )
    valid_until = DutchDateField(_l("Geldig tot en met"), validators=[_required()])
    terms = TextAreaField(
        _l("Voorwaarden"), filters=[_strip], validators=[_text(10000)], render_kw={"rows": 8}
    )
    note = TextAreaField(
        _l("Toelichting voor de klant (optioneel)"), filters=[_strip], validators=[_text()]
    )

    def set_trainers(self, trainers) -> None:
        choices = [(0, _l("— kies een trainer —"))] + [(t.id, t.name) for t in trainers]
        for entry in self.sessions:
            entry.form.trainer_id.choices = choices

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        sessions_ok, any_session = _complete_rows(self.sessions)
        lines_ok, any_line = _complete_rows(self.lines)
        if not any_session:
            self.form_errors.append(_l("Een voorstel heeft minstens één sessie nodig."))
        if not any_line:
            self.form_errors.append(_l("Een voorstel heeft minstens één prijsregel nodig."))
        others_ok = not any(f.errors for f in self if f.name not in ("sessions", "lines"))
        return others_ok and sessions_ok and lines_ok and any_session and any_line

    def filled_sessions(self):
        return [e.form for e in self.sessions if not e.form.is_blank()]

    def filled_lines(self):
        return [e.form for e in self.lines if not e.form.is_blank()]


class AcceptForm(FlaskForm):
    version = HiddenField()
    po_number = StringField(
        _l("Inkoopordernummer of debiteurenreferentie"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Vul uw inkoopordernummer of debiteurenreferentie in.")),
            Length(max=100, message=_l("Het inkoopordernummer is te lang.")),
        ],
        description=_l("Dit nummer zetten we op de factuur."),
    )
    billing_address = TextAreaField(
        _l("Factuuradres (optioneel)"),
        filters=[_strip],
        validators=[_text(1000)],
        description=_l("Bijvoorbeeld de crediteurenadministratie of een postbus."),
    )
    agree_terms = BooleanField(
        _l("Ik ga akkoord met de voorwaarden van dit voorstel"),
        validators=[
            DataRequired(message=_l("Ga akkoord met de voorwaarden om het voorstel te accepteren."))
        ],
    )


class DeclineForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(
        _l("Waarom wijst u het voorstel af?"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Laat ons weten waarom u het voorstel afwijst.")),
            _text(),
        ],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden van annulering"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Geef een reden voor de annulering.")), _text()],
    )


class MessageForm(OnceForm):
    body = TextAreaField(
        _l("Uw bericht"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Schrijf een bericht.")), _text()],
    )


class ParticipantForm(OnceForm):
    name = StringField(_l("Naam"), filters=[_strip], validators=[_required(), Length(max=200)])
    email = EmailField(
        _l("E-mailadres"), filters=[_strip], validators=[_required(), _email(), Length(max=254)]
    )
    role = StringField(
        _l("Functie of rol (optioneel)"),
        filters=[_strip],
        validators=[Length(max=100)],
        description=_l("Bijvoorbeeld raadslid, griffier of projectleider."),
    )


def _typed():
    """Required, but leaving the field's own message about what was typed (DataRequired would
    replace "Vul een geldige datum in." for 30 February by "Dit veld is verplicht.")."""
    return InputRequired(message=_l("Dit veld is verplicht."))


class SessionChangeForm(FlaskForm):
    day = DutchDateField(_l("Datum"), validators=[_typed()])
    start = DutchTimeField(_l("Begin"), validators=[_typed()])
    end = DutchTimeField(_l("Einde"), validators=[_typed()])
    trainer_id = SelectField(_l("Trainer"), coerce=int, choices=[])
    location = StringField(
        _l("Locatie"), filters=[_strip], validators=[_required(), Length(max=300)]
    )
    online_url = URLField(
        _l("Online link (optioneel)"), filters=[_strip], validators=[Length(max=500)]
    )
    note = TextAreaField(
        _l("Toelichting voor de deelnemers"), filters=[_strip], validators=[_text(1000)]
    )

    def validate_end(self, field):
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("De eindtijd ligt na de begintijd."))

    def validate_trainer_id(self, field):
        if not field.data:
            raise ValidationError(_l("Kies een trainer."))


class InvoiceForm(OnceForm):
    lines = FieldList(FormField(LineForm), min_entries=4, max_entries=12)
    billing_address = TextAreaField(_l("Factuuradres"), filters=[_strip], validators=[_text(1000)])

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        lines_ok, any_line = _complete_rows(self.lines)
        if not any_line:
            self.form_errors.append(_l("Een factuur heeft minstens één regel nodig."))
        others_ok = not any(f.errors for f in self if f.name != "lines")
        return others_ok and lines_ok and any_line

    def filled_lines(self):
        return [e.form for e in self.lines if not e.form.is_blank()]


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Notitie (optioneel)"), filters=[_strip], validators=[_text()])


class ButtonForm(FlaskForm):
    """A POST with nothing but its CSRF token."""


class PipelineFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    status = SelectField(
        _l("Status"),
        choices=[("open", _l("Alle lopende")), ("all", _l("Alle"))]
        + [(k.value, v) for k, v in STATUS_LABELS.items()],
        default="open",
    )
    course = SelectField(_l("Training"), coerce=int, default=0, choices=[])
    q = StringField(_l("Zoek op organisatie, contactpersoon of inkoopnummer"), filters=[_strip])
    min_age = IntegerField(
        _l("Ouder dan (dagen)"),
        validators=[Optional(), NumberRange(min=0, max=3650, message=_l("Vul 0 tot 3650 in."))],
    )


class SendProposalForm(FlaskForm):
    confirm = BooleanField(
        _l("Ja, verstuur deze versie nu naar de klant"),
        validators=[DataRequired(message=_l("Bevestig dat u het voorstel wilt versturen."))],
    )


class NewSessionForm(SessionChangeForm):
    """A session added after acceptance, with its price for the client's addendum."""

    price = AmountField(
        _l("Meerprijs excl. btw"),
        description=_l("De klant krijgt een aanvulling met deze prijs om te accepteren."),
    )
    included_reason = TextAreaField(
        _l("Of: zonder meerprijs, omdat"),
        filters=[_strip],
        validators=[_text(1000)],
        description=_l(
            "Vul alleen in als de sessie niets extra kost; de reden komt in het verloop."
        ),
    )


class AddendumAcceptForm(FlaskForm):
    agree = BooleanField(
        _l("Ik ga akkoord met de meerprijs voor deze extra sessie"),
        validators=[
            DataRequired(message=_l("Ga akkoord met de meerprijs om de aanvulling te accepteren."))
        ],
    )


class IncludeAddendumForm(FlaskForm):
    reason = TextAreaField(
        _l("Reden"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Geef een reden om de sessie zonder meerprijs te geven.")),
            _text(1000),
        ],
    )
