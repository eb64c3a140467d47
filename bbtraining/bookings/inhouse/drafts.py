"""What staff put on a time or a price: session drafts (with the trainer check) and price-line
drafts, shared by proposals, session changes and the invoice.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import format_datetime

from ...auth.models import User
from ...courses.trainers import Slot, trainer_conflicts
from ...db_types import utcnow
from ...errors import DomainError
from ...i18n import lazy_gettext as _l


@dataclass
class SessionDraft:
    starts_at: datetime
    ends_at: datetime
    trainer: User | None
    location: str
    online_url: str | None = None


@dataclass
class LineDraft:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal


def refuse_trainer_conflicts(
    drafts: Sequence[SessionDraft], *, exclude_session_ids: Iterable[int] = ()
) -> None:
    """Refuse a trainer twice in the drafts, or already giving a session at that time.

    Which sessions count as taken is the catalog's one rule (`courses.trainers.trainer_conflicts`:
    lead trainer of a session or co-trainer of a planned edition); only the wording is ours.
    """
    excluded = list(exclude_session_ids)
    for index, draft in enumerate(drafts):
        if draft.trainer is None:
            continue
        for other in drafts[index + 1 :]:
            if (
                other.trainer is not None
                and other.trainer.id == draft.trainer.id
                and other.starts_at < draft.ends_at
                and other.ends_at > draft.starts_at
            ):
                raise DomainError(
                    _l(
                        "%(trainer)s staat twee keer tegelijk in dit voorstel (%(when)s).",
                        trainer=draft.trainer.name,
                        when=format_datetime(draft.starts_at, "short"),
                    )
                )
        clashes = trainer_conflicts(
            draft.trainer,
            [Slot(draft.starts_at, draft.ends_at)],
            ignore_session_ids=excluded,
        )
        if clashes:
            clash = clashes[0]
            raise DomainError(
                _l(
                    "%(trainer)s is op %(when)s al ingepland (%(course)s). Kies een andere "
                    "trainer of een ander tijdstip.",
                    trainer=draft.trainer.name,
                    when=format_datetime(clash.starts_at, "short"),
                    course=clash.course.title,
                )
            )


def check_sessions(drafts: Sequence[SessionDraft]) -> None:
    if not drafts:
        raise DomainError(_l("Een voorstel heeft minstens één sessie nodig."))
    now = utcnow()
    for draft in drafts:
        if draft.ends_at <= draft.starts_at:
            raise DomainError(_l("Een sessie moet eindigen na het begin."))
        if draft.starts_at <= now:
            raise DomainError(_l("Sessies in een voorstel moeten in de toekomst liggen."))
        if draft.trainer is None or not draft.trainer.is_trainer:
            raise DomainError(_l("Kies voor elke sessie een trainer."))
        if not (draft.location or "").strip():
            raise DomainError(_l("Vul voor elke sessie een locatie in."))


def check_lines(lines: Sequence[LineDraft]) -> None:
    if not lines:
        raise DomainError(_l("Een voorstel heeft minstens één prijsregel nodig."))
    for line in lines:
        if line.quantity <= 0:
            raise DomainError(_l("Het aantal op een prijsregel moet groter dan nul zijn."))
        if line.unit_price < 0:
            raise DomainError(_l("Een prijs kan niet negatief zijn."))
        if not line.description.strip():
            raise DomainError(_l("Geef elke prijsregel een omschrijving."))
