"""Demo: a facilitator who has only just made an account (nothing booked, no training done), so
that the first steps on /account/ can be seen. Kept apart from the other demo accounts, which
all have something booked."""

from ...auth.demo import DEMO_PASSWORD
from ...auth.models import Role, User
from ...extensions import db

NEWCOMER_EMAIL = "nieuw@example.nl"
NEWCOMER_NAME = "Sem de Boer"


def seed() -> None:
    if User.by_email(NEWCOMER_EMAIL) is not None:
        return
    user = User(email=NEWCOMER_EMAIL, name=NEWCOMER_NAME)
    user.set_password(DEMO_PASSWORD)
    user.mark_email_verified()
    user.add_role(Role.FACILITATOR)
    db.session.add(user)
    db.session.flush()
