"""An inhouse proposal may not double-book a trainer, whatever their part in the other session:
the catalog's one check counts the lead trainer of a session and every co-trainer of its
edition alike."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.inhouse import drafts
from bbtraining.bookings.inhouse.proposal_models import InhouseProposal
from bbtraining.errors import DomainError
from bbtraining.extensions import db


def test_a_co_trainer_of_an_open_edition_is_not_double_booked(inhouse, make_edition, make_user):
    co_trainer = inhouse.trainer
    lead = make_user("trainer", name="Amira Lead")
    edition = make_edition(trainer=lead, days=1, start_in_days=30)
    edition.trainers.append(co_trainer)  # only a co-trainer: no session names them
    db.session.commit()
    busy = edition.sessions[0]
    assert busy.trainer_id == lead.id
    booking = inhouse.booking()
    overlapping = drafts.SessionDraft(
        starts_at=busy.starts_at + timedelta(hours=1),
        ends_at=busy.starts_at + timedelta(hours=3),
        trainer=co_trainer,
        location="Utrecht",
    )
    with pytest.raises(DomainError, match="Joost Trainer is op .* al ingepland"):
        inhouse.proposal(booking, sessions=[overlapping])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(InhouseProposal)) == 0
