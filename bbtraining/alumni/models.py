"""The alumni pool: profiles of trained facilitators (match requests are in `match_models`).

A profile is searchable only while all of this holds: the alumnus gave explicit consent (the
version of the text and the moment are stored), published it, confirmed it within the last
12 months, and staff have not hidden it. Contact details (e-mail, phone) live on the user and are
never part of a profile: they travel by mail, and only once an alumnus accepts a request.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    event,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db_types import UTCDateTime, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l

# -- vocabularies ----------------------------------------------------------------------------------
# The twelve provinces, north to south; the code is what URLs and the database carry.
PROVINCES: dict[str, object] = {
    "groningen": _l("Groningen"),
    "friesland": _l("Fryslân"),
    "drenthe": _l("Drenthe"),
    "overijssel": _l("Overijssel"),
    "flevoland": _l("Flevoland"),
    "gelderland": _l("Gelderland"),
    "utrecht": _l("Utrecht"),
    "noord-holland": _l("Noord-Holland"),
    "zuid-holland": _l("Zuid-Holland"),
    "zeeland": _l("Zeeland"),
    "noord-brabant": _l("Noord-Brabant"),
    "limburg": _l("Limburg"),
}
PROVINCE_CODES = tuple(PROVINCES)

# Languages residents of Dutch municipalities speak at an assembly table (ISO 639 codes).
LANGUAGES: dict[str, object] = {
    "nl": _l("Nederlands"),
    "fy": _l("Fries"),
    "en": _l("Engels"),
    "de": _l("Duits"),
    "fr": _l("Frans"),
    "es": _l("Spaans"),
    "pt": _l("Portugees"),
    "pl": _l("Pools"),
    "ro": _l("Roemeens"),
    "bg": _l("Bulgaars"),
    "uk": _l("Oekraïens"),
    "ru": _l("Russisch"),
    "tr": _l("Turks"),
    "ar": _l("Arabisch"),
    "ber": _l("Tamazight (Berbers)"),
    "pap": _l("Papiamentu"),
    "srn": _l("Sranantongo"),
    "so": _l("Somalisch"),
    "ti": _l("Tigrinya"),
    "fa": _l("Perzisch (Farsi/Dari)"),
    "zh": _l("Chinees"),
    "dse": _l("Nederlandse Gebarentaal"),
}
LANGUAGE_CODES = tuple(LANGUAGES)

WEEKDAYS = (
    _l("maandag"),
    _l("dinsdag"),
    _l("woensdag"),
    _l("donderdag"),
    _l("vrijdag"),
    _l("zaterdag"),
    _l("zondag"),
)


def weekday_mask(indexes) -> int:
    """The bit mask a profile stores its preferred weekdays as (bit 0: Monday); indexes outside
    0-6 are left out."""
    return sum(1 << int(i) for i in set(indexes) if 0 <= int(i) <= 6)


def code_mask(codes, vocabulary: tuple[str, ...]) -> int:
    """The bit mask of these codes in a vocabulary (bit i: vocabulary[i]); unknown codes are
    left out. A profile keeps its travel provinces and languages this way too, next to their
    rows, so search filters and counts them on the profile row alone (no join)."""
    return sum(1 << vocabulary.index(c) for c in set(codes) if c in vocabulary)


# How long a confirmation keeps a profile in search.
CONFIRMATION_VALID_FOR = timedelta(days=365)


def in_list(column: str, values) -> str:
    """SQL for a check constraint that keeps `column` to these values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# -- managed list of specialisations -------------------------------------------------------------
class Specialisation(db.Model):
    __tablename__ = "specialisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


profile_specialisation = Table(
    "alumni_profile_specialisation",
    db.metadata,
    Column("profile_id", ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "specialisation_id",
        ForeignKey("specialisation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_alumni_profile_specialisation_lookup", "specialisation_id", "profile_id"),
)


# -- profile and its multi-valued parts ------------------------------------------------------------
class ProfileLanguage(db.Model):
    __tablename__ = "alumni_language"
    __table_args__ = (
        Index("ix_alumni_language_lookup", "language", "profile_id"),
        CheckConstraint(in_list("language", LANGUAGE_CODES), name="language_known"),
    )

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(5), primary_key=True)


class TravelProvince(db.Model):
    __tablename__ = "alumni_travel_province"
    __table_args__ = (
        Index("ix_alumni_travel_province_lookup", "province", "profile_id"),
        CheckConstraint(in_list("province", PROVINCE_CODES), name="province_known"),
    )

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True
    )
    province: Mapped[str] = mapped_column(String(20), primary_key=True)


class ProfileTag(db.Model):
    """Free tags (jongeren, klimaat, mobiliteit, ...), lower case."""

    __tablename__ = "alumni_tag"
    __table_args__ = (Index("ix_alumni_tag_lookup", "tag", "profile_id"),)

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class BlockedDate(db.Model):
    """A day the alumnus is not available."""

    __tablename__ = "alumni_blocked_date"
    __table_args__ = (Index("ix_alumni_blocked_date_lookup", "day", "profile_id"),)

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ProfilePhoto(db.Model):
    """The re-encoded photo (JPEG without metadata); a table of its own keeps search rows slim."""

    __tablename__ = "alumni_photo"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alumni_profile.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlumniConsent(db.Model):
    """Each consent given (and withdrawn): the exact text version and when."""

    __tablename__ = "alumni_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlumniProfile(db.Model):
    __tablename__ = "alumni_profile"
    __table_args__ = (
        CheckConstraint(in_list("province", PROVINCE_CODES), name="province_known"),
        CheckConstraint(
            "assemblies_count >= 0 AND assemblies_count <= 1000", name="assemblies_range"
        ),
        CheckConstraint("sessions_count >= 0 AND sessions_count <= 10000", name="sessions_range"),
        CheckConstraint("years_experience >= 0 AND years_experience <= 70", name="years_range"),
        CheckConstraint(
            "preferred_weekdays >= 0 AND preferred_weekdays <= 127", name="weekdays_mask"
        ),
        CheckConstraint(
            "published = false OR consented_at IS NOT NULL", name="published_needs_consent"
        ),
        CheckConstraint("travel_mask >= 0 AND travel_mask < 4096", name="travel_mask_range"),
        CheckConstraint("language_mask >= 0", name="language_mask_range"),
        # Search reads the visible profiles only. The index holds every column the counts per
        # province read (and the filters on the row itself), so counting is an index-only scan.
        Index(
            "ix_alumni_profile_visible",
            "confirmed_at",
            "province",
            "travel_mask",
            "language_mask",
            "user_id",
            "assemblies_count",
            "years_experience",
            "preferred_weekdays",
            "id",
            postgresql_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
            sqlite_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
        ),
        # The default order of results (most experienced first), walked until a page is full.
        Index(
            "ix_alumni_profile_ranking",
            text("assemblies_count DESC, sessions_count DESC, years_experience DESC, id"),
            postgresql_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
            sqlite_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
        ),
        # The same order within one province: the residents' part of a province search.
        Index(
            "ix_alumni_profile_province_ranking",
            text("province, assemblies_count DESC, sessions_count DESC, years_experience DESC, id"),
            postgresql_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
            sqlite_where=text("published AND NOT hidden_by_staff AND consented_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    headline: Mapped[str] = mapped_column(String(160), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    province: Mapped[str] = mapped_column(String(20))
    municipality: Mapped[str] = mapped_column(String(100), default="")
    assemblies_count: Mapped[int] = mapped_column(default=0)
    sessions_count: Mapped[int] = mapped_column(default=0)
    years_experience: Mapped[int] = mapped_column(default=0)
    # Monday = bit 0 ... Sunday = bit 6.
    preferred_weekdays: Mapped[int] = mapped_column(default=0)
    # The travel provinces and languages as bit masks (see code_mask), set with their rows.
    travel_mask: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    language_mask: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_staff: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Positive: the current photo's version, part of its URL, so caches never show an old face.
    # Zero or negative: no photo (negated on removal, so the next upload gets a new URL).
    photo_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])
    language_rows: Mapped[list[ProfileLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    travel_rows: Mapped[list[TravelProvince]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    tag_rows: Mapped[list[ProfileTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    blocked_rows: Mapped[list[BlockedDate]] = relationship(
        cascade="all, delete-orphan", order_by=BlockedDate.day
    )
    specialisations: Mapped[list[Specialisation]] = relationship(
        secondary=profile_specialisation, lazy="selectin", order_by=Specialisation.position
    )
    photo: Mapped[ProfilePhoto | None] = relationship(cascade="all, delete-orphan", lazy="select")

    # -- multi-valued fields as plain lists -------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return sorted((r.language for r in self.language_rows), key=LANGUAGE_CODES.index)

    @languages.setter
    def languages(self, codes) -> None:
        wanted = [c for c in LANGUAGE_CODES if c in set(codes)]
        keep = [r for r in self.language_rows if r.language in wanted]
        have = {r.language for r in keep}
        self.language_rows = keep + [ProfileLanguage(language=c) for c in wanted if c not in have]
        self.language_mask = code_mask(wanted, LANGUAGE_CODES)

    @property
    def travel_provinces(self) -> list[str]:
        return sorted((r.province for r in self.travel_rows), key=PROVINCE_CODES.index)

    @travel_provinces.setter
    def travel_provinces(self, codes) -> None:
        wanted = [c for c in PROVINCE_CODES if c in set(codes)]
        keep = [r for r in self.travel_rows if r.province in wanted]
        have = {r.province for r in keep}
        self.travel_rows = keep + [TravelProvince(province=c) for c in wanted if c not in have]
        self.travel_mask = code_mask(wanted, PROVINCE_CODES)

    @property
    def tags(self) -> list[str]:
        return sorted(r.tag for r in self.tag_rows)

    @tags.setter
    def tags(self, values) -> None:
        wanted = list(dict.fromkeys(values))
        keep = [r for r in self.tag_rows if r.tag in wanted]
        have = {r.tag for r in keep}
        self.tag_rows = keep + [ProfileTag(tag=t) for t in wanted if t not in have]

    @property
    def blocked_dates(self) -> list[date]:
        return [r.day for r in self.blocked_rows]

    @blocked_dates.setter
    def blocked_dates(self, days) -> None:
        wanted = sorted(set(days))
        keep = [r for r in self.blocked_rows if r.day in wanted]
        have = {r.day for r in keep}
        self.blocked_rows = keep + [BlockedDate(day=d) for d in wanted if d not in have]

    @property
    def weekdays(self) -> list[int]:
        return [i for i in range(7) if self.preferred_weekdays & (1 << i)]

    @weekdays.setter
    def weekdays(self, indexes) -> None:
        self.preferred_weekdays = weekday_mask(indexes)

    # -- labels -----------------------------------------------------------------------------------
    @property
    def province_label(self) -> str:
        return str(PROVINCES.get(self.province, self.province))

    @property
    def travel_labels(self) -> list[str]:
        return [str(PROVINCES[c]) for c in self.travel_provinces]

    @property
    def language_labels(self) -> list[str]:
        return [str(LANGUAGES[c]) for c in self.languages]

    @property
    def weekday_labels(self) -> list[str]:
        return [str(WEEKDAYS[i]) for i in self.weekdays]

    # -- state ------------------------------------------------------------------------------------
    @property
    def has_photo(self) -> bool:
        return self.photo_version > 0

    @property
    def has_consent(self) -> bool:
        return self.consented_at is not None

    def confirmation_expires_at(self) -> datetime | None:
        return self.confirmed_at + CONFIRMATION_VALID_FOR if self.confirmed_at else None

    def confirmation_lapsed(self, now: datetime | None = None) -> bool:
        expires = self.confirmation_expires_at()
        return expires is None or expires <= (now or utcnow())

    def is_searchable(self, now: datetime | None = None) -> bool:
        return (
            self.published
            and self.has_consent
            and not self.hidden_by_staff
            and not self.confirmation_lapsed(now)
            and self.user.is_active
        )

    @property
    def status_label(self) -> str:
        if self.hidden_by_staff:
            return str(_l("Verborgen door medewerkers"))
        if not self.published:
            return str(_l("Niet gepubliceerd"))
        if self.confirmation_lapsed():
            return str(_l("Niet zichtbaar: bevestig dat uw profiel klopt"))
        return str(_l("Gepubliceerd"))

    def can_view(self, user) -> bool:
        """Clients and staff see searchable profiles; staff and the owner see every state."""
        if not getattr(user, "is_authenticated", False):
            return False
        if user.id == self.user_id or user.has_role("admin"):
            return True
        return user.has_role("client") and self.is_searchable()

    def give_consent(self, version: str, now: datetime | None = None) -> None:
        self.consent_version = version
        self.consented_at = now or utcnow()

    def publish(self, now: datetime | None = None) -> None:
        if not self.has_consent:
            raise DomainError(
                _l("Geef eerst toestemming om uw profiel te tonen aan opdrachtgevers.")
            )
        if self.hidden_by_staff:
            raise DomainError(
                _l("Uw profiel is verborgen door onze medewerkers. Neem contact met ons op.")
            )
        now = now or utcnow()
        self.published = True
        self.published_at = self.published_at or now
        self.confirm(now)

    def unpublish(self) -> None:
        if not self.published:
            raise DomainError(_l("Uw profiel is al niet gepubliceerd."))
        self.published = False

    def confirm(self, now: datetime | None = None) -> None:
        self.confirmed_at = now or utcnow()
        self.confirm_reminder_sent_at = None

    def hide(self, reason: str, by: User, now: datetime | None = None) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise DomainError(_l("Geef een reden op voor het verbergen."), field="reason")
        self.hidden_by_staff = True
        self.hidden_reason = reason
        self.hidden_at = now or utcnow()
        self.hidden_by_id = by.id

    def unhide(self) -> None:
        if not self.hidden_by_staff:
            raise DomainError(_l("Dit profiel is niet verborgen."))
        self.hidden_by_staff = False
        self.hidden_reason = None
        self.hidden_at = None
        self.hidden_by_id = None

    def __str__(self) -> str:
        return self.display_name


# -- full-text search over headline and bio ------------------------------------------------------
def search_document():
    """The text PostgreSQL indexes; the query must use the very same expression."""
    return func.to_tsvector(
        literal_column("'dutch'::regconfig"),
        func.coalesce(AlumniProfile.headline, literal_column("''"))
        .op("||")(literal_column("' '"))
        .op("||")(func.coalesce(AlumniProfile.bio, literal_column("''"))),
    )


# A functional GIN index; a column-less expression does not attach itself to the table.
AlumniProfile.__table__.append_constraint(
    Index("ix_alumni_profile_fulltext", search_document(), postgresql_using="gin").ddl_if(
        dialect="postgresql"
    )
)

# Search leaves out closed accounts with `user_id NOT IN (closed ones)`; this partial index on the
# accounts table makes finding those few a lookup instead of a scan of every user. It is defined
# here because the alumni search is its only reader.
User.__table__.append_constraint(
    Index(
        "ix_user_closed_accounts",
        "id",
        postgresql_where=text("deleted_at IS NOT NULL OR NOT is_active_account"),
        sqlite_where=text("deleted_at IS NOT NULL OR NOT is_active_account"),
    )
)

# SQLite: an FTS5 table over the same columns, kept in sync by triggers on every write path
# (ORM, bulk inserts, deletes in test cleanup), so it can never return a stale row.
# create_all() runs these through the event below; a migration runs SQLITE_FULLTEXT_DDL itself
# (then `INSERT INTO alumni_profile_fts(alumni_profile_fts) VALUES ('rebuild')` for old rows).
FTS_TABLE = "alumni_profile_fts"
SQLITE_FULLTEXT_DDL = (
    "CREATE VIRTUAL TABLE alumni_profile_fts USING fts5(headline, bio, content='alumni_profile', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER alumni_profile_fts_ai AFTER INSERT ON alumni_profile BEGIN "
    "INSERT INTO alumni_profile_fts(rowid, headline, bio) "
    "VALUES (new.id, new.headline, new.bio); END",
    "CREATE TRIGGER alumni_profile_fts_ad AFTER DELETE ON alumni_profile BEGIN "
    "INSERT INTO alumni_profile_fts(alumni_profile_fts, rowid, headline, bio) "
    "VALUES ('delete', old.id, old.headline, old.bio); END",
    "CREATE TRIGGER alumni_profile_fts_au AFTER UPDATE OF headline, bio ON alumni_profile BEGIN "
    "INSERT INTO alumni_profile_fts(alumni_profile_fts, rowid, headline, bio) "
    "VALUES ('delete', old.id, old.headline, old.bio); "
    "INSERT INTO alumni_profile_fts(rowid, headline, bio) "
    "VALUES (new.id, new.headline, new.bio); END",
)
for _statement in SQLITE_FULLTEXT_DDL:
    event.listen(
        AlumniProfile.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite")
    )
event.listen(
    AlumniProfile.__table__,
    "before_drop",
    DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"),
)
