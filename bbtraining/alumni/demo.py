"""Demo alumni: a handful of published profiles, the managed list of specialisations, and a
match request from Provincie Gelderland waiting for Lotte's and Daan's answer.

Runs after the accounts (and, when present, the catalog) seeders; safe to run again. Verified
trainings are recorded only for qualifying courses that exist.
"""

from datetime import date, timedelta

from sqlalchemy import select

from ..auth.demo import DEMO_PASSWORD
from ..auth.models import Role, User
from ..bookings.attendance.qualifications import record_qualification
from ..courses.models import Course
from ..db_types import utcnow
from ..extensions import db
from . import matches
from .consent import CONSENT_VERSION
from .match_models import MatchRecipient, MatchRequest, RecipientStatus
from .models import AlumniConsent, AlumniProfile, Specialisation

SPECIALISATIONS = (
    "Jongeren",
    "Klimaat en energie",
    "Mobiliteit",
    "Wonen en ruimte",
    "Zorg en welzijn",
    "Laaggeletterdheid en toegankelijke taal",
    "Meertalige groepen",
    "Online beraadslaging",
    "Loting en werving",
)

EXTRA_ALUMNI = (
    ("daan.visser@example.nl", "Daan Visser"),
    ("noor.hamdi@example.nl", "Noor Hamdi"),
    ("sietske.dijkstra@example.nl", "Sietske Dijkstra"),
    ("ruud.claessens@example.nl", "Ruud Claessens"),
)

# email: (province, municipality, travel, languages, specialisations, tags, experience, headline,
#         bio, weekdays)
PROFILES = {
    "trainer2@example.nl": (
        "utrecht",
        "Utrecht",
        ["noord-holland", "zuid-holland", "gelderland"],
        ["nl", "ar", "en"],
        ["Meertalige groepen", "Jongeren"],
        ["jongeren", "inclusie"],
        (6, 40, 8),
        "Meertalige gespreksbegeleiding voor burgerberaden in de Randstad",
        "Ik begeleid tafelgesprekken in het Nederlands, Arabisch en Engels en heb zes "
        "burgerberaden begeleid, waarvan twee met jongeren. Ik let erop dat iedereen aan tafel "
        "aan het woord komt, ook wie de taal minder goed spreekt.",
        [0, 1, 5],
    ),
    "begeleider@example.nl": (
        "gelderland",
        "Arnhem",
        ["overijssel", "utrecht"],
        ["nl", "de"],
        ["Klimaat en energie", "Wonen en ruimte"],
        ["klimaat", "energie"],
        (2, 14, 3),
        "Beraden over klimaat en de energietransitie",
        "Gespreksbegeleider met een achtergrond in ruimtelijke ordening. Ik begeleidde "
        "klimaatberaden in Gelderland en werk graag met grote groepen inwoners.",
        [4, 5],
    ),
    "daan.visser@example.nl": (
        "noord-holland",
        "Haarlem",
        ["zuid-holland", "flevoland"],
        ["nl", "en"],
        ["Mobiliteit", "Online beraadslaging"],
        ["mobiliteit", "online"],
        (4, 25, 6),
        "Hybride en online beraden over mobiliteit",
        "Ik ontwerp en begeleid online en hybride sessies en heb ervaring met beraden over "
        "verkeer en bereikbaarheid.",
        [1, 2, 3],
    ),
    "noor.hamdi@example.nl": (
        "zuid-holland",
        "Rotterdam",
        ["noord-brabant", "zeeland"],
        ["nl", "ar", "ber", "fr"],
        ["Meertalige groepen", "Laaggeletterdheid en toegankelijke taal"],
        ["toegankelijk", "jongeren"],
        (3, 18, 5),
        "Toegankelijke gesprekken voor iedere inwoner",
        "Ervaren in gesprekken met inwoners die zelden meedoen: laaggeletterden, nieuwkomers en "
        "jongeren. Ik spreek Nederlands, Arabisch, Tamazight en Frans.",
        [5, 6],
    ),
    "sietske.dijkstra@example.nl": (
        "friesland",
        "Leeuwarden",
        ["groningen", "drenthe"],
        ["nl", "fy", "en"],
        ["Zorg en welzijn", "Loting en werving"],
        ["zorg", "platteland"],
        (5, 30, 10),
        "Burgerberaden in het Noorden, in het Nederlands en het Fries",
        "Ik begeleid al tien jaar dorpsgesprekken en burgerberaden in Fryslân en Groningen, "
        "vaak over zorg en leefbaarheid op het platteland.",
        [0, 2, 4],
    ),
    "ruud.claessens@example.nl": (
        "limburg",
        "Maastricht",
        ["noord-brabant"],
        ["nl", "de", "fr"],
        ["Klimaat en energie", "Mobiliteit"],
        ["grensregio", "klimaat"],
        (1, 6, 2),
        "Nieuwe gespreksbegeleider in de grensregio",
        "Net afgerond: de training voor gespreksbegeleiders. Ik werk in Limburg en over de grens, "
        "in het Nederlands, Duits en Frans.",
        [3, 4],
    ),
}


def seed() -> None:
    specialisations = {}
    for position, name in enumerate(SPECIALISATIONS, start=1):
        from .services import slugify

        row = db.session.scalar(select(Specialisation).where(Specialisation.name == name))
        if row is None:
            row = Specialisation(slug=slugify(name), name=name, position=position)
            db.session.add(row)
        specialisations[name] = row
    for email, name in EXTRA_ALUMNI:
        if User.by_email(email) is None:
            user = User(email=email, name=name)
            user.set_password(DEMO_PASSWORD)
            user.mark_email_verified()
            user.add_role(Role.FACILITATOR)
            db.session.add(user)
    db.session.flush()

    course = db.session.scalar(
        select(Course).where(Course.qualifies_for_alumni.is_(True)).order_by(Course.id).limit(1)
    )
    now = utcnow()
    for offset, (email, spec) in enumerate(PROFILES.items()):
        user = User.by_email(email)
        if user is None:
            continue  # the accounts seeder did not run
        if db.session.scalar(select(AlumniProfile).where(AlumniProfile.user_id == user.id)):
            continue
        (
            province,
            municipality,
            travel,
            languages,
            spec_names,
            tags,
            experience,
            headline,
            bio,
            weekdays,
        ) = spec
        profile = AlumniProfile(
            user_id=user.id,
            user=user,
            display_name=user.name,
            headline=headline,
            bio=bio,
            province=province,
            municipality=municipality,
        )
        profile.travel_provinces = travel
        profile.languages = languages
        profile.specialisations = [specialisations[n] for n in spec_names]
        profile.tags = tags
        profile.assemblies_count, profile.sessions_count, profile.years_experience = experience
        profile.weekdays = weekdays
        profile.blocked_dates = [
            date.today() + timedelta(days=7 * (offset + 1) + i) for i in (0, 1)
        ]
        profile.give_consent(CONSENT_VERSION, now)
        profile.publish(now)
        db.session.add(profile)
        db.session.add(AlumniConsent(user_id=user.id, version=CONSENT_VERSION, given_at=now))
        db.session.flush()
        if course is not None:  # after the profile exists: no invitation to make one
            record_qualification(user, course, source="admin", note="Demo")
    db.session.flush()
    seed_match_request()


MATCH_CLIENT_EMAIL = "projectleider@example.nl"
MATCH_ALUMNI = ("begeleider@example.nl", "daan.visser@example.nl")


def waiting_match_request(client: User, now) -> MatchRequest | None:
    """A request of this client that an alumnus still has to answer."""
    return db.session.scalar(
        select(MatchRequest)
        .join(MatchRecipient)
        .where(
            MatchRequest.client_id == client.id,
            MatchRequest.expires_at > now,
            MatchRecipient.status == RecipientStatus.PENDING,
        )
        .limit(1)
    )


def seed_match_request() -> None:
    """Once no request of the demo client waits any more (answered or expired), a new one."""
    client = User.by_email(MATCH_CLIENT_EMAIL)
    now = utcnow()
    if client is None or waiting_match_request(client, now) is not None:
        return
    profiles = [
        profile
        for email in MATCH_ALUMNI
        if (user := User.by_email(email)) is not None
        and (profile := db.session.scalar(select(AlumniProfile).filter_by(user_id=user.id)))
        and profile.is_searchable(now)
    ]
    if not profiles:
        return
    in_six_weeks = date.today() + timedelta(days=45)
    first_saturday = in_six_weeks + timedelta(days=(5 - in_six_weeks.weekday()) % 7)
    matches.create_request(
        client,
        profiles,
        assembly="Burgerberaad stikstof en landbouw",
        organisation_name="",
        dates=[first_saturday + timedelta(days=days) for days in (0, 7)],  # "twee zaterdagen"
        place="Provinciehuis Arnhem",
        role="table",
        message="Wij zoeken tafelbegeleiders voor twee zaterdagen. Heeft u tijd?",
        now=now,
    )
    db.session.flush()
