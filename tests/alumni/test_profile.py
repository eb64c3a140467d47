"""The alumnus' own profile: who may make one, editing, consent and publishing, photos,
yearly confirmation and its reminder."""

import io
import os
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from bbtraining.alumni import search
from bbtraining.alumni.models import AlumniConsent, AlumniProfile, ProfilePhoto
from bbtraining.audit import AuditEntry
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.conftest import outbox_to

PROFILE_FORM = {
    "display_name": "Lotte J.",
    "headline": "Begeleider van klimaatberaden",
    "bio": "Ik begeleid gesprekken.",
    "province": "gelderland",
    "municipality": "Arnhem",
    "travel_provinces": ["utrecht", "gelderland"],
    "languages": ["nl", "en"],
    "tags": "Klimaat, #energie, klimaat",
    "assemblies_count": "3",
    "sessions_count": "12",
    "years_experience": "4",
    "weekdays": ["0", "4"],
    "blocked_dates": "14-03-2031, 1-4-2031 t/m 3-4-2031",
}


@pytest.fixture
def qualified(make_user, training):
    from bbtraining.bookings.attendance.qualifications import record_qualification

    user = make_user("facilitator", name="Lotte Jansen", email="lotte@example.nl")
    record_qualification(user, training, source="admin")
    db.session.commit()
    return user


def test_without_a_qualifying_training_there_is_no_profile(client, login, make_user, make_course):
    from bbtraining.bookings.attendance.qualifications import record_qualification

    user = make_user("facilitator")
    record_qualification(user, make_course("Masterclass", qualifies=False), source="admin")
    db.session.commit()
    login(user)
    page = client.get("/alumni/profile")
    assert "zodra u een training voor gespreksbegeleiders" in page.get_data(as_text=True)
    client.post("/alumni/profile", data=PROFILE_FORM)
    assert db.session.scalar(select(func.count(AlumniProfile.id))) == 0
    assert "Alumnipool" not in client.get("/account/").get_data(as_text=True)


def test_create_profile_then_publish_with_recorded_consent(client, login, qualified):
    login(qualified)
    assert "Profiel maken" in client.get("/account/").get_data(as_text=True)
    response = client.post("/alumni/profile", data=PROFILE_FORM)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/alumni/profile/publish")
    profile = db.session.scalar(select(AlumniProfile))
    assert profile.travel_provinces == ["utrecht"]  # home province is not repeated
    assert profile.tags == ["energie", "klimaat"]
    assert profile.weekdays == [0, 4]
    assert [d.isoformat() for d in profile.blocked_dates] == [
        "2031-03-14",
        "2031-04-01",
        "2031-04-02",
        "2031-04-03",
    ]
    assert not profile.published and profile.consented_at is None

    consent_page = client.get("/alumni/profile/publish").get_data(as_text=True)
    assert "Ik geef toestemming" in consent_page
    refused = client.post("/alumni/profile/publish", data={})
    assert refused.status_code == 400
    assert "Zonder uw toestemming" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert not profile.published

    assert client.post("/alumni/profile/publish", data={"consent": "y"}).status_code == 302
    db.session.expire_all()
    assert profile.published and profile.consent_version == "2025-1"
    assert profile.consented_at is not None and profile.confirmed_at is not None
    consent = db.session.scalar(select(AlumniConsent))
    assert consent.version == "2025-1" and consent.withdrawn_at is None
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"alumni.profile_created", "alumni.consent_given", "alumni.profile_published"} <= actions


def test_bad_profile_input_is_refused_in_dutch(client, login, qualified):
    login(qualified)
    for changes, message in (
        ({"province": "atlantis"}, "Not a valid choice|geldige keuze|Ongeldige keuze"),
        ({"languages": []}, "Kies minstens één taal"),
        ({"assemblies_count": "-1"}, "0 tot 1000"),
        ({"blocked_dates": "morgen"}, "geen datum"),
        ({"display_name": ""}, "Dit veld is verplicht"),
        ({"tags": "x" * 41}, "hooguit 40 tekens"),
    ):
        response = client.post("/alumni/profile", data={**PROFILE_FORM, **changes})
        assert response.status_code == 400, changes
        import re

        assert re.search(message, response.get_data(as_text=True)), changes
    assert db.session.scalar(select(func.count(AlumniProfile.id))) == 0


def test_edit_keeps_one_profile_and_verified_trainings_are_not_editable(
    client, login, qualified, training
):
    login(qualified)
    client.post("/alumni/profile", data=PROFILE_FORM)
    client.post(
        "/alumni/profile", data={**PROFILE_FORM, "headline": "Nieuw", "travel_provinces": []}
    )
    profile = db.session.scalar(select(AlumniProfile))
    db.session.refresh(profile)
    assert profile.headline == "Nieuw" and profile.travel_provinces == []
    page = client.get("/alumni/profile").get_data(as_text=True)
    assert training.title in page and "niet zelf wijzigen" in page


def jpeg_with_gps(size=(2400, 1600)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 30.0)}  # GPS info
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(client, data: bytes, name: str = "foto.jpg"):
    return client.post(
        "/alumni/profile/photo",
        data={"photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_photo_is_reencoded_without_metadata(client, login, qualified, make_client):
    login(qualified)
    client.post("/alumni/profile", data=PROFILE_FORM)
    raw = jpeg_with_gps()
    assert b"SecretCam" in raw
    assert upload(client, raw).status_code == 302
    photo = db.session.scalar(select(ProfilePhoto))
    assert b"SecretCam" not in photo.data and b"Exif" not in photo.data
    stored = Image.open(io.BytesIO(photo.data))
    assert stored.format == "JPEG" and max(stored.size) == 800
    assert not stored.getexif()
    profile = db.session.scalar(select(AlumniProfile))
    assert profile.photo_version == 1
    own = client.get(f"/alumni/{profile.id}/photo/1.jpg")
    assert own.status_code == 200 and own.mimetype == "image/jpeg"
    client.post("/alumni/profile/publish", data={"consent": "y"})
    client.post("/auth/logout")
    login(make_client())
    assert client.get(f"/alumni/{profile.id}/photo/1.jpg").data == photo.data
    # PNG with transparency is accepted too, flattened on white.
    client.post("/auth/logout")
    login(qualified)
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(png, format="PNG")
    assert upload(client, png.getvalue(), "foto.png").status_code == 302


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"%PDF-1.4 this is not an image at all", "geen foto die we kunnen lezen"),
        (b"", "Kies een foto"),
        ("truncated", "geen foto die we kunnen lezen"),
        ("too_big", "te groot"),
        ("bomb", "te veel pixels|geen foto die we kunnen lezen"),
        ("bmp", "geen foto die we kunnen lezen"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(client, login, qualified, payload, message):
    import re

    login(qualified)
    client.post("/alumni/profile", data=PROFILE_FORM)
    if payload == "truncated":
        payload = jpeg_with_gps()[:3000]
    elif payload == "too_big":
        payload = b"\xff\xd8\xff\xe0" + os.urandom(5 * 1024 * 1024 + 10)
    elif payload == "bomb":
        out = io.BytesIO()
        Image.new("1", (12000, 12000)).save(out, format="PNG")
        payload = out.getvalue()
    elif payload == "bmp":
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, format="BMP")
        payload = out.getvalue()
    response = upload(client, payload)
    assert response.status_code == 400
    assert re.search(message, response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(ProfilePhoto)) == 0
    profile = db.session.scalar(select(AlumniProfile))
    db.session.refresh(profile)
    assert profile.photo_version == 0


def test_photo_can_be_removed(client, login, qualified):
    login(qualified)
    client.post("/alumni/profile", data=PROFILE_FORM)
    upload(client, jpeg_with_gps((200, 200)))
    assert client.post("/alumni/profile/photo/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ProfilePhoto)) == 0


def test_reminder_before_the_year_lapses_then_confirming_restores(make_alumnus, client, login):
    from bbtraining.alumni.tasks import remind_due_profiles

    due = make_alumnus("Bijna verlopen", email="bijna@example.nl")
    make_alumnus("Net bevestigd", email="vers@example.nl")
    due.confirmed_at = utcnow() - timedelta(days=340)
    db.session.commit()
    assert remind_due_profiles() == 1
    assert remind_due_profiles() == 0  # once per confirmation period
    mail = outbox_to("bijna@example.nl")[-1]
    assert "Bevestig" in mail.subject and "http://bbtraining.test/alumni/profile" in mail.text_body
    assert not [m for m in outbox_to("vers@example.nl") if "Bevestig" in m.subject]

    due.confirmed_at = utcnow() - timedelta(days=370)
    db.session.commit()
    assert search.search(search.SearchCriteria()).total == 1
    login(due.user)
    assert "bevestig dat uw profiel klopt" in client.get("/alumni/profile").get_data(as_text=True)
    assert client.post("/alumni/profile/confirm").status_code == 302
    assert search.search(search.SearchCriteria()).total == 2


def test_staff_hide_with_reason_shown_to_the_alumnus(client, login, make_alumnus, make_user):
    profile = make_alumnus("Te verbergen")
    login(make_user("admin"))
    refused = client.post(f"/admin/alumni/profiles/{profile.id}/hide", data={"reason": ""})
    assert refused.status_code == 302
    db.session.expire_all()
    assert not profile.hidden_by_staff
    client.post(f"/admin/alumni/profiles/{profile.id}/hide", data={"reason": "Onjuiste claims"})
    db.session.expire_all()
    assert profile.hidden_by_staff and profile.hidden_reason == "Onjuiste claims"
    assert "Onjuiste claims" in client.get("/admin/alumni/profiles?status=hidden").get_data(
        as_text=True
    )
    client.post("/auth/logout")
    login(profile.user)
    page = client.get("/alumni/profile").get_data(as_text=True)
    assert "Verborgen door medewerkers" in page and "Onjuiste claims" in page
    client.post("/auth/logout")
    login(make_user("admin"))
    client.post(f"/admin/alumni/profiles/{profile.id}/unhide")
    db.session.expire_all()
    assert not profile.hidden_by_staff


def test_staff_manage_specialisations(client, login, make_user):
    from bbtraining.alumni.models import Specialisation

    login(make_user("admin"))
    assert (
        client.post(
            "/admin/alumni/specialisations", data={"name": "Jongeren", "active": "y"}
        ).status_code
        == 302
    )
    duplicate = client.post("/admin/alumni/specialisations", data={"name": "jongeren"})
    assert duplicate.status_code == 400 and "bestaat al" in duplicate.get_data(as_text=True)
    spec = db.session.scalar(select(Specialisation))
    client.post(f"/admin/alumni/specialisations/{spec.id}", data={"name": "Jongeren en scholieren"})
    db.session.expire_all()
    assert spec.name == "Jongeren en scholieren" and not spec.active


def test_demo_seed_is_idempotent(app, make_course):
    from bbtraining.alumni import demo
    from bbtraining.auth import demo as auth_demo

    make_course("Training gespreksbegeleiders")
    for _ in range(2):
        auth_demo.seed()
        demo.seed()
        db.session.commit()
    assert db.session.scalar(select(func.count(AlumniProfile.id))) == 6
    assert search.search(search.SearchCriteria()).total == 6
    trained = search.search(search.SearchCriteria(q="meertalige"))
    assert [p.display_name for p in trained.profiles] == ["Amira El Idrissi"]


def test_a_new_photo_after_removal_gets_a_new_url(client, login, qualified):
    login(qualified)
    client.post("/alumni/profile", data=PROFILE_FORM)
    upload(client, jpeg_with_gps((200, 200)))
    client.post("/alumni/profile/photo/delete")
    profile = db.session.scalar(select(AlumniProfile))
    db.session.refresh(profile)
    assert not profile.has_photo
    assert client.get(f"/alumni/{profile.id}/photo/1.jpg").status_code == 404
    upload(client, jpeg_with_gps((300, 300)))
    db.session.refresh(profile)
    assert profile.has_photo and profile.photo_version == 2
    page = client.get("/alumni/profile").get_data(as_text=True)
    assert f'src="/alumni/{profile.id}/photo/2.jpg"' in page
