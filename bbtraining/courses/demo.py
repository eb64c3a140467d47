"""Demo catalog: courses of every kind and phase, open editions over the coming months, trainer
bios and a few organisations. Idempotent: courses are found by slug, and a course's demo
editions are only planned while it has none."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from ..auth.demo import seed as seed_accounts
from ..auth.models import OrganisationKind, User
from ..auth.services import find_or_create_organisation
from ..extensions import db
from . import courses, editions, trainers
from .models import AMSTERDAM, Course, Edition

ORGANISATIONS = (
    ("Gemeente Amersfoort", OrganisationKind.GEMEENTE),
    ("Gemeente Leeuwarden", OrganisationKind.GEMEENTE),
    ("Provincie Noord-Brabant", OrganisationKind.PROVINCIE),
    ("Waterschap Vallei en Veluwe", OrganisationKind.WATERSCHAP),
)

TRAINER_BIOS = {
    "trainer@example.nl": (
        "Joost was twaalf jaar griffier van een middelgrote gemeente voordat hij zich op "
        "burgerparticipatie ging toeleggen. Sindsdien begeleidde hij drie burgerberaden van de "
        "eerste loting tot het debat in de raad.\n\n"
        "In zijn trainingen draait het om tijd, toon en tegenstellingen: hoe houd je een tafel "
        "van tien onbekenden bij de les zonder het gesprek dicht te timmeren?"
    ),
    "trainer2@example.nl": (
        "Amira volgde zelf de basistraining en begeleidde daarna tafels in beraden over "
        "klimaatadaptatie en wonen. Ze is gespecialiseerd in gemengde groepen: deelnemers die "
        "het Nederlands als tweede taal spreken, jongeren, en mensen die niet gewend zijn het "
        "woord te nemen.\n\n"
        "Naast haar werk als trainer faciliteert ze inwonersbijeenkomsten voor waterschappen."
    ),
}

COURSES = (
    {
        "slug": "inspiratiesessie-burgerberaden",
        "title": "Inspiratiesessie burgerberaden voor raad en college",
        "kind": "inspiratiesessie",
        "audience": "council",
        "delivery": "inhouse",
        "phases": ("verkenning", "voorbereiding"),
        "duration_minutes": 150,
        "session_count": 1,
        "price_inhouse": Decimal("1650.00"),
        "max_group_size": 40,
        "summary": (
            "Een middag of avond waarin uw raad en college ontdekken wat een burgerberaad is, "
            "wat het kan opleveren en wanneer u er beter niet aan begint."
        ),
        "description": (
            "Een burgerberaad staat in uw coalitieakkoord, of een fractie heeft er een motie "
            "over ingediend. Voordat er een startnotitie ligt, wilt u dat raadsleden en "
            "bestuurders weten waar ze over praten.\n\n"
            "In deze sessie laten we aan de hand van beraden in Nederland en daarbuiten zien "
            "wat een gelote groep inwoners wel en niet kan. We bespreken de keuzes die vooraf "
            "bepalen of de aanbevelingen serieus worden genomen, en de valkuilen waar eerdere "
            "gemeenten in liepen.\n\n"
            "De sessie is interactief en vindt plaats bij u, in de raadzaal of een "
            "commissiekamer. We sluiten af met een eerlijke inschatting van een mogelijke "
            "volgende stap."
        ),
        "learning_goals": (
            "U weet wat een burgerberaad is en hoe het zich verhoudt tot de gekozen raad\n"
            "U kent de voorwaarden waaronder een beraad invloed heeft op beleid\n"
            "U herkent vraagstukken die zich wel en niet lenen voor een burgerberaad\n"
            "U weet welke besluiten de raad vooraf zelf moet nemen"
        ),
    },
    {
        "slug": "masterclass-ambtenaren-en-politici",
        "title": "Masterclass burgerberaden voor ambtenaren en politici",
        "kind": "masterclass",
        "audience": "civil-servants",
        "delivery": "both",
        "phases": ("verkenning", "voorbereiding"),
        "duration_minutes": 360,
        "session_count": 1,
        "price_inhouse": Decimal("3950.00"),
        "price_seat": Decimal("545.00"),
        "max_group_size": 24,
        "summary": (
            "Eén dag langs alle onderdelen van een burgerberaad, van vraag en mandaat tot "
            "loting, begeleiding en opvolging, met casussen uit de praktijk."
        ),
        "description": (
            "Wie een burgerberaad moet voorbereiden of er politiek verantwoordelijk voor is, "
            "krijgt te maken met tientallen keuzes: hoe breed is de vraag, wie loot er, hoeveel "
            "tijd krijgen deelnemers, en wat belooft de raad vooraf?\n\n"
            "In deze masterclass lopen we die keuzes één voor één door. We werken met "
            "casussen van afgeronde beraden en met de vragen die u zelf meebrengt. Politici "
            "en ambtenaren zitten bewust samen aan tafel: het beraad slaagt alleen als beide "
            "rollen helder zijn.\n\n"
            "U volgt de masterclass in een open groep met deelnemers uit verschillende "
            "gemeenten en provincies, of inhouse met uw eigen organisatie."
        ),
        "learning_goals": (
            "U overziet alle stappen van verkenning tot opvolging van een burgerberaad\n"
            "U kunt de rol van raad, college en ambtelijke organisatie van elkaar onderscheiden\n"
            "U weet hoe loting werkt en wat een representatieve groep vraagt\n"
            "U kunt een realistische planning en begroting beoordelen"
        ),
    },
    {
        "slug": "masterclass-vraagstelling-en-mandaat",
        "title": "Masterclass de goede vraag: vraagstelling en mandaat",
        "kind": "masterclass",
        "audience": "politicians",
        "delivery": "inhouse",
        "phases": ("voorbereiding",),
        "duration_minutes": 210,
        "session_count": 1,
        "price_inhouse": Decimal("2450.00"),
        "max_group_size": 20,
        "summary": (
            "Voor raadsleden en wethouders die samen de vraag aan het burgerberaad en de "
            "toezegging van de raad formuleren."
        ),
        "description": (
            "De vraag die een burgerberaad krijgt, bepaalt bijna alles: wie zich aangesproken "
            "voelt, hoeveel tijd nodig is en wat de raad met de uitkomst kan. Een te smalle "
            "vraag maakt het beraad overbodig, een te brede maakt het onwerkbaar.\n\n"
            "In deze masterclass schrijft u met uw collega's aan de vraag en aan het mandaat: "
            "wat belooft de raad te doen met de aanbevelingen, en binnen welke termijn?"
        ),
        "learning_goals": (
            "U kunt een open, begrijpelijke en afgebakende vraag formuleren\n"
            "U weet welke toezeggingen de raad vooraf kan en moet doen\n"
            "U kent de gevolgen van de vraagstelling voor budget en doorlooptijd"
        ),
    },
    {
        "slug": "masterclass-communicatie-burgerberaad",
        "title": "Masterclass communicatie rond een burgerberaad",
        "kind": "masterclass",
        "audience": "communication",
        "delivery": "inhouse",
        "phases": ("voorbereiding", "uitvoering"),
        "duration_minutes": 240,
        "session_count": 1,
        "price_inhouse": Decimal("2750.00"),
        "max_group_size": 16,
        "summary": (
            "Voor communicatieadviseurs: de uitnodigingsbrief, de pers, sociale media en de "
            "inwoners die niet zijn geloot."
        ),
        "description": (
            "Een burgerberaad vraagt andere communicatie dan een gewoon participatietraject. "
            "De brief waarmee inwoners worden uitgenodigd bepaalt wie er reageert. Tijdens het "
            "beraad wilt u open zijn zonder de deelnemers bloot te stellen aan druk van buiten.\n\n"
            "We werken aan uw eigen communicatiestrategie en oefenen met lastige momenten, "
            "zoals een kritisch raadslid in de krant of een oproep op sociale media om het "
            "beraad te beïnvloeden."
        ),
        "learning_goals": (
            "U kunt een uitnodigingsbrief schrijven die ook moeilijk bereikbare inwoners "
            "aanspreekt\n"
            "U weet hoe u deelnemers beschermt tegen druk van buitenaf\n"
            "U stelt een communicatieplan op voor de periode na de aanbevelingen"
        ),
    },
    {
        "slug": "basistraining-gespreksbegeleider",
        "title": "Basistraining gespreksbegeleider burgerberaad",
        "kind": "facilitator-training",
        "audience": "facilitators",
        "delivery": "open",
        "phases": ("uitvoering",),
        "duration_minutes": 420,
        "session_count": 3,
        "price_seat": Decimal("1195.00"),
        "max_group_size": 16,
        "qualifies_for_alumni": True,
        "summary": (
            "Drie dagen praktijktraining voor wie tafels in een burgerberaad gaat begeleiden. "
            "Na afronding kunt u zich aanmelden voor onze alumnipool."
        ),
        "description": (
            "Aan de tafels van een burgerberaad zitten inwoners die elkaar niet kennen, die "
            "soms lijnrecht tegenover elkaar staan en die in korte tijd samen tot voorstellen "
            "moeten komen. De gespreksbegeleider zorgt dat iedereen aan het woord komt, dat "
            "informatie wordt begrepen en dat het gesprek op tijd landt.\n\n"
            "In drie dagen oefent u met werkvormen voor elke fase van een beraad: kennismaken, "
            "leren van deskundigen, afwegen en besluiten. U oefent met acteurs en krijgt "
            "feedback van trainers die zelf aan beraden hebben gewerkt.\n\n"
            "Wie alle dagen aanwezig is, ontvangt een certificaat en kan een profiel aanmaken "
            "in de alumnipool, waar gemeenten en uitvoerders begeleiders zoeken."
        ),
        "learning_goals": (
            "U begeleidt een tafel van acht tot twaalf deelnemers door een volledige sessie\n"
            "U zorgt dat stille deelnemers aan bod komen en dominante deelnemers ruimte laten\n"
            "U vat samen zonder te sturen en blijft neutraal over de inhoud\n"
            "U kent werkvormen voor kennismaken, verdiepen, afwegen en besluiten\n"
            "U weet hoe u omgaat met emoties en conflicten aan tafel"
        ),
    },
    {
        "slug": "verdieping-spanning-en-polarisatie",
        "title": "Verdiepingstraining: spanning en polarisatie aan tafel",
        "kind": "facilitator-training",
        "audience": "facilitators",
        "delivery": "both",
        "phases": ("uitvoering",),
        "duration_minutes": 420,
        "session_count": 2,
        "price_seat": Decimal("845.00"),
        "price_inhouse": Decimal("4200.00"),
        "max_group_size": 14,
        "summary": (
            "Twee dagen voor ervaren begeleiders: wat doet u als het gesprek verhardt, een "
            "deelnemer dreigt op te stappen of de groep in kampen uiteenvalt?"
        ),
        "description": (
            "Beraden over stikstof, windmolens of asielopvang raken aan diepe overtuigingen. "
            "Dat maakt ze waardevol, en lastig te begeleiden.\n\n"
            "Deze verdieping bouwt voort op de basistraining. We oefenen met escalerende "
            "situaties, met het benoemen van spanning zonder partij te kiezen, en met het "
            "herstellen van vertrouwen na een botsing."
        ),
        "learning_goals": (
            "U herkent vroege signalen van polarisatie in een groep\n"
            "U kunt spanning benoemen en bespreekbaar maken zonder partij te kiezen\n"
            "U beschikt over interventies om een vastgelopen gesprek weer op gang te brengen"
        ),
    },
    {
        "slug": "inhouse-training-begeleidersteam",
        "title": "Inhouse training voor uw eigen begeleidersteam",
        "kind": "facilitator-training",
        "audience": "facilitators",
        "delivery": "inhouse",
        "phases": ("voorbereiding", "uitvoering"),
        "duration_minutes": 420,
        "session_count": 2,
        "price_inhouse": Decimal("3600.00"),
        "max_group_size": 16,
        "qualifies_for_alumni": True,
        "summary": (
            "Gaat uw gemeente het beraad met eigen medewerkers of vrijwilligers begeleiden? "
            "Wij trainen het hele team, afgestemd op uw programma."
        ),
        "description": (
            "Sommige gemeenten kiezen ervoor de tafels te laten begeleiden door eigen "
            "medewerkers, bibliotheekmedewerkers of ervaren vrijwilligers. Dat kan goed werken, "
            "mits het team dezelfde aanpak deelt.\n\n"
            "In twee dagen trainen we uw team op het programma van uw eigen beraad. We "
            "gebruiken uw vraagstelling, uw informatiemateriaal en uw zaalindeling."
        ),
        "learning_goals": (
            "Het team deelt één aanpak en één taal voor de begeleiding\n"
            "Iedere begeleider kan de werkvormen van uw programma zelfstandig uitvoeren\n"
            "U weet hoe begeleiders elkaar tijdens het beraad ondersteunen"
        ),
    },
    {
        "slug": "sparring-onafhankelijk-voorzitter",
        "title": "Sparring voor de onafhankelijke voorzitter",
        "kind": "chair-sparring",
        "audience": "chairs",
        "delivery": "inhouse",
        "phases": ("voorbereiding", "uitvoering"),
        "duration_minutes": 90,
        "session_count": 4,
        "price_inhouse": Decimal("425.00"),
        "max_group_size": 2,
        "summary": (
            "Vier gesprekken met een ervaren sparringpartner voor de voorzitter van een "
            "burgerberaad: voor de start, tijdens het beraad en bij de overdracht."
        ),
        "description": (
            "De voorzitter van een burgerberaad staat tussen de deelnemers, de organisatie en "
            "de politiek. Het is een zichtbare rol, en vaak een eenzame.\n\n"
            "In vier gesprekken van anderhalf uur bespreken we wat er speelt: de verhouding "
            "met de opdrachtgever, de onafhankelijkheid van het beraad, momenten van twijfel "
            "en de presentatie van de aanbevelingen aan de raad."
        ),
        "learning_goals": (
            "U heeft helder wat uw rol is en waar die ophoudt\n"
            "U bewaakt de onafhankelijkheid van het beraad tegenover opdrachtgever en pers\n"
            "U bereidt de overdracht van de aanbevelingen aan de raad zorgvuldig voor"
        ),
    },
    {
        # Deliberately unpublished and without a price: shows staff what publishing refuses.
        "slug": "masterclass-evaluatie-en-toezicht",
        "title": "Masterclass evaluatie en toezicht",
        "kind": "masterclass",
        "audience": "civil-servants",
        "delivery": "inhouse",
        "phases": ("uitvoering",),
        "duration_minutes": 180,
        "session_count": 1,
        "max_group_size": 20,
        "publish": False,
        "summary": (
            "In voorbereiding: hoe richt u de evaluatie van een burgerberaad in, en wat doet "
            "een onafhankelijke toezichthouder?"
        ),
        "description": "",
        "learning_goals": "",
    },
)

# (course slug, weeks from now, weekday of the first day, day offsets, place, capacity, seats
#  the enrollments' demo fills with real participants, trainer e-mails)
EDITIONS = (
    (
        "basistraining-gespreksbegeleider",
        3,
        3,
        (0, 1, 7),
        "Utrecht, vergadercentrum bij Utrecht Centraal",
        16,
        14,
        ("trainer@example.nl", "trainer2@example.nl"),
    ),
    (
        "masterclass-ambtenaren-en-politici",
        5,
        2,
        (0,),
        "Den Haag, Provinciehuis Zuid-Holland, zaal 3",
        24,
        9,
        ("trainer2@example.nl",),
    ),
    (
        "verdieping-spanning-en-polarisatie",
        6,
        1,
        (0, 7),
        "Amersfoort, De Observant",
        12,
        4,
        ("trainer@example.nl",),
    ),
    (
        "basistraining-gespreksbegeleider",
        9,
        3,
        (0, 1, 7),
        "Zwolle, Stadshuis, Grote Vergaderzaal",
        16,
        6,
        ("trainer2@example.nl",),
    ),
    (
        "basistraining-gespreksbegeleider",
        17,
        3,
        (0, 1, 7),
        "Rotterdam, Het Nieuwe Instituut, studio 2",
        16,
        1,
        ("trainer@example.nl",),
    ),
)

DAY_START, DAY_END = time(9, 30), time(16, 30)


def _is_holiday(day: date) -> bool:
    """Christmas break, King's Day and Liberation Day: nobody plans a training then."""
    return (
        (day.month == 12 and day.day >= 20)
        or (day.month == 1 and day.day <= 3)
        or (day.month, day.day) in {(4, 27), (5, 5)}
    )


def _first_day(today: date, weeks: int, weekday: int, offsets: tuple[int, ...]) -> date:
    day = today + timedelta(weeks=weeks)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while any(_is_holiday(day + timedelta(days=offset)) for offset in offsets):
        day += timedelta(weeks=1)
    return day


def seed() -> None:
    seed_accounts()  # trainers must exist; seeding accounts is idempotent
    for name, kind in ORGANISATIONS:
        find_or_create_organisation(name, kind)
    trainer_by_email = {}
    for email, bio in TRAINER_BIOS.items():
        trainer = User.by_email(email)
        if trainer is not None:
            if not trainer.bio:
                trainer.bio = bio
            trainer_by_email[email] = trainer

    course_by_slug: dict[str, Course] = {}
    for spec in COURSES:
        course = db.session.scalar(select(Course).where(Course.slug == spec["slug"]))
        if course is None:
            fields = {k: v for k, v in spec.items() if k != "publish"}
            course = courses.create_course(courses.CourseInput(**fields))
            if spec.get("publish", True):
                courses.publish_course(course)
        course_by_slug[spec["slug"]] = course

    today = datetime.now(AMSTERDAM).date()
    planned = {
        slug
        for slug, course in course_by_slug.items()
        if db.session.scalar(select(Edition.id).where(Edition.course_id == course.id))
    }
    for slug, weeks, weekday, offsets, place, capacity, _taken, emails in EDITIONS:
        if slug in planned:
            continue
        first = _first_day(today, weeks, weekday, offsets)
        slots = [
            trainers.Slot.local(first + timedelta(days=offset), DAY_START, DAY_END)
            for offset in offsets
        ]
        editions.schedule_edition(
            course_by_slug[slug],
            editions.EditionInput(
                capacity=capacity,
                slots=slots,
                trainers=[trainer_by_email[e] for e in emails if e in trainer_by_email],
                location=place,
                # A week ahead, at the end of that day.
                enrollment_deadline=datetime.combine(
                    first - timedelta(days=7), time(23, 59), tzinfo=AMSTERDAM
                ),
            ),
        )
        # No seats here: a taken seat is a participant, enrolled by the enrollments' demo
        # (bookings/enrollment/demo.py fills each edition to `taken` with demo participants).
    db.session.flush()
