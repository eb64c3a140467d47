"""The form staff register a bank payment with: amount and date, then a confirmation."""

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField

from ...courses.forms import AmountField
from ...i18n import lazy_gettext as _l
from ...submissions import OnceForm


class PaymentDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Vul een geldige datum in.")) from exc


class PaymentForm(OnceForm):
    # The amount and date rules (more than 0, not above what is open, not in the future) are
    # receivables.check_payment's: the form only reads what was typed.
    amount = AmountField(_l("Ontvangen bedrag (€)"))
    paid_on = PaymentDateField(_l("Datum van ontvangst"))
    # Set by the confirmation page: the first POST only shows what will be registered.
    confirmed = HiddenField(default="")


class ButtonForm(FlaskForm):
    """A POST with nothing but its CSRF token."""
