"""The consent an alumnus gives before their profile is shown; its version is stored with it.

Change the text only together with a new version: consents given to an older text stay recorded
as such.
"""

from ..i18n import lazy_gettext as _l

CONSENT_VERSION = "2025-1"

CONSENT_PARAGRAPHS = (
    _l(
        "Ik geef toestemming om mijn alumniprofiel (weergavenaam, foto, kopregel, beschrijving, "
        "provincie en gemeente, talen, specialisaties, ervaring, beschikbaarheid en de trainingen "
        "die ik bij het expertisecentrum afrondde) te tonen aan opdrachtgevers met een account "
        "(gemeenten, provincies, waterschappen en organisatoren van burgerberaden) en aan de "
        "medewerkers van het expertisecentrum."
    ),
    _l(
        "Mijn e-mailadres en telefoonnummer worden niet getoond. Ze worden alleen gedeeld met "
        "een opdrachtgever van wie ik een verzoek accepteer, en die opdrachtgever krijgt dan "
        "ook mijn naam."
    ),
    _l(
        "Ik kan mijn profiel op elk moment offline halen; daarmee trek ik deze toestemming in. "
        "Ik kan al mijn gegevens downloaden en mijn account verwijderen."
    ),
    _l(
        "Mijn profiel blijft alleen vindbaar als ik elke twaalf maanden bevestig dat het klopt. "
        "Ik krijg daarvoor vooraf een herinnering per e-mail."
    ),
)
