import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import vat
from ..errors import DomainError
from ..i18n import lazy_gettext as _l
from ..submissions import OnceForm
from .models import ORGANISATION_KIND_LABELS, ROLE_LABELS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserAdminForm(FlaskForm):
    roles = MultiCheckboxField(
        _l("Rollen"), choices=[(role.value, label) for role, label in ROLE_LABELS.items()]
    )
    organisation_id = SelectField(_l("Organisatie"), coerce=int, default=0)
    is_active_account = BooleanField(_l("Account actief"))


class OrganisationForm(OnceForm):
    name = StringField(
        _l("Naam"), validators=[DataRequired(_l("Dit veld is verplicht.")), Length(max=200)]
    )
    kind = SelectField(
        _l("Soort"), choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()]
    )
    cbs_code = StringField(
        _l("CBS-gemeentecode"),
        validators=[Optional(), Length(max=10)],
        description=_l("Bijvoorbeeld GM0344 voor Utrecht."),
    )

    def validate_cbs_code(self, field):
        if field.data and not re.fullmatch(r"(GM|PV|WS)\d{4}", field.data.strip().upper()):
            raise ValidationError(
                _l("Een CBS-code ziet eruit als GM0344 (twee letters, vier cijfers).")
            )
        field.data = field.data.strip().upper() if field.data else None


class OrganisationVatForm(FlaskForm):
    """Where an organisation is established and its VAT number: a business in another EU member
    state with a number VIES confirms pays no Dutch VAT (reverse charge)."""

    country = SelectField(_l("Land van vestiging"), choices=vat.country_choices(), default="NL")
    vat_number = StringField(
        _l("Btw-nummer (optioneel)"),
        validators=[Optional(), Length(max=40)],
        description=_l("Met landcode, bijvoorbeeld BE0123456789 of NL123456789B01."),
    )

    def validate_vat_number(self, field):
        try:
            field.data = vat.clean_vat_number(field.data, self.country.data)
        except DomainError as exc:
            raise ValidationError(str(exc)) from None


class NewOrganisationForm(OrganisationForm, OrganisationVatForm):
    """A new organisation with, optionally, its VAT details."""
