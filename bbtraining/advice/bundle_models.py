"""The advies-strippenkaart: a bundle of advice hours an organisation bought, and its ledger.

The ledger is append-only. Time is logged as entries of whole quarters of an hour; a mistake is
corrected by a *correction entry* (the negative of the entry it corrects, pointing at it) rather
than by editing or deleting, so the statement a client downloaded last month still adds up and
every change stays visible. `minutes_used` on the bundle is the running sum of its entries,
updated under the bundle's row lock in the same transaction as the entry; a CHECK in the
database refuses a sum over the hours bought unless staff allowed an overrun.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organisation, User
from ..bookings.billing.invoices import Invoice
from ..db_types import UTCDateTime, utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l

QUARTER = 15  # minutes: the unit advice time is logged in


class BundleState(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # staff closed it (sold in error, replaced); nothing more is logged


STATE_LABELS = {BundleState.ACTIVE: _l("Actief"), BundleState.CLOSED: _l("Gesloten")}


class AdviceBundle(db.Model):
    __tablename__ = "advice_bundles"
    __table_args__ = (
        CheckConstraint(
            "minutes_bought > 0 AND minutes_bought % 15 = 0", name="minutes_bought_quarters"
        ),
        CheckConstraint("minutes_used >= 0", name="minutes_used_not_negative"),
        # The balance never goes below zero unless staff explicitly allowed an overrun.
        CheckConstraint(
            "allow_overrun OR minutes_used <= minutes_bought", name="balance_not_negative"
        ),
        CheckConstraint("minutes_overrun_invoiced >= 0", name="overrun_invoiced_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("valid_until > valid_from", name="valid_period"),
        CheckConstraint("state IN ('active', 'closed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    minutes_bought: Mapped[int]
    minutes_used: Mapped[int] = mapped_column(default=0, server_default="0")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # excluding VAT, for the bundle
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    valid_from: Mapped[date]
    valid_until: Mapped[date]  # the last day time can be logged
    allow_overrun: Mapped[bool] = mapped_column(default=False, server_default=false())
    overrun_allowed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    overrun_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Overrun minutes already on an invoice (subject 'advice_overrun').
    minutes_overrun_invoiced: Mapped[int] = mapped_column(default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(10), default=BundleState.ACTIVE)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    reference: Mapped[str | None] = mapped_column(String(100))  # the client's PO number
    # Notices to the organisation's clients, each sent once.
    notice_80_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_expiry_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship()
    invoice: Mapped[Invoice | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    entries: Mapped[list["AdviceBundleEntry"]] = relationship(
        back_populates="bundle",
        order_by="(AdviceBundleEntry.day, AdviceBundleEntry.id)",
        cascade="all, delete-orphan",
    )

    @property
    def hours_bought(self) -> Decimal:
        return Decimal(self.minutes_bought) / 60

    @property
    def balance_minutes(self) -> int:
        """What is left; negative only when an overrun was allowed and used."""
        return self.minutes_bought - self.minutes_used

    @property
    def overrun_minutes(self) -> int:
        return max(self.minutes_used - self.minutes_bought, 0)

    @property
    def overrun_to_invoice(self) -> int:
        return self.overrun_minutes - self.minutes_overrun_invoiced

    @property
    def used_percent(self) -> int:
        return min(round(100 * self.minutes_used / self.minutes_bought), 999)

    @property
    def hourly_rate(self) -> Decimal:
        """The bundle's price per hour (excl. VAT): what an overrun hour costs."""
        return (self.price * 60 / self.minutes_bought).quantize(Decimal("0.01"))

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(BundleState(self.state), self.state))

    def expired(self, today: date) -> bool:
        return today > self.valid_until

    def can_view(self, user) -> bool:
        """Staff, advisors, and the clients of the organisation that bought it."""
        if not getattr(user, "is_authenticated", False):
            return False
        if user.is_admin or user.is_advisor:
            return True
        return user.is_client and user.organisation_id == self.organisation_id

    def close(self) -> None:
        self.state = BundleState.CLOSED


class AdviceBundleEntry(db.Model):
    __tablename__ = "advice_bundle_entries"
    __table_args__ = (
        CheckConstraint("minutes % 15 = 0 AND minutes <> 0", name="minutes_quarters"),
        # A logged entry is positive; a correction is negative and names what it corrects.
        CheckConstraint(
            "(minutes > 0 AND corrects_id IS NULL) OR (minutes < 0 AND corrects_id IS NOT NULL)",
            name="correction_shape",
        ),
        Index("ix_advice_bundle_entries_bundle_day", "bundle_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("advice_bundles.id", ondelete="CASCADE"))
    day: Mapped[date]
    minutes: Mapped[int]
    topic: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    advisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # An entry is corrected at most once (unique), by a negative entry pointing at it.
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("advice_bundle_entries.id", ondelete="CASCADE"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bundle: Mapped[AdviceBundle] = relationship(back_populates="entries")
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    corrects: Mapped["AdviceBundleEntry | None"] = relationship(
        remote_side=[id], foreign_keys=[corrects_id], back_populates="correction"
    )
    correction: Mapped["AdviceBundleEntry | None"] = relationship(
        foreign_keys=[corrects_id], back_populates="corrects", uselist=False
    )

    @property
    def is_correction(self) -> bool:
        return self.corrects_id is not None
