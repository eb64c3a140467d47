"""The evaluation form behind the mailed link."""

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import Length, StopValidation

from ...i18n import lazy_gettext as _l
from .models import GRADES, TEXT_MAX


def _grade_or_none(value):
    # Anything that is not a whole number becomes None, so the validator below can say so in
    # Dutch instead of WTForms' generic "Invalid Choice: could not coerce".
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class GradeInRange:
    def __call__(self, form, field):
        if field.data is None or field.data not in GRADES:
            field.errors[:] = []
            raise StopValidation(_l("Kies een rapportcijfer van 1 tot en met 10."))


class EvaluationForm(FlaskForm):
    grade = RadioField(
        _l("Welk rapportcijfer geeft u deze training?"),
        choices=[(grade, str(grade)) for grade in GRADES],
        coerce=_grade_or_none,
        validate_choice=False,
        validators=[GradeInRange()],
    )
    went_well = TextAreaField(
        _l("Wat ging goed?"),
        validators=[
            Length(max=TEXT_MAX, message=_l("Houd het kort: hoogstens %(max)d tekens.")),
        ],
    )
    could_be_better = TextAreaField(
        _l("Wat kan beter?"),
        validators=[
            Length(max=TEXT_MAX, message=_l("Houd het kort: hoogstens %(max)d tekens.")),
        ],
    )
