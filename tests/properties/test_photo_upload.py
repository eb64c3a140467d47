"""The alumni photo upload, fed generated files: real images in every mode and format Pillow
writes, then damaged (cut short, bytes flipped, junk or HTML before or after, another format's
header). Whatever arrives, the upload either stores a clean JPEG of at most 800 pixels or refuses
with one of its Dutch messages on the photo field; never a 500, never another exception, and a
refusal leaves the stored photo as it was."""

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from bbtraining.alumni.models import AlumniProfile, ProfilePhoto
from bbtraining.alumni.photos import process_photo
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.alumni.test_profile import PROFILE_FORM, jpeg_with_gps, upload

REFUSALS = (
    "Dit bestand is geen foto die we kunnen lezen",
    "Deze foto heeft te veel pixels",
    "Deze foto is te groot",
    "Kies een foto om te uploaden",
)
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I"]
FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "ICO", "PPM"]
HEADERS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP"]
SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=os.environ.get("HYPOTHESIS_EXPLORE") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def images(draw) -> bytes:
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(FORMATS))
    size = (draw(st.integers(1, 900)), draw(st.integers(1, 900)))
    grey = Image.linear_gradient("L").rotate(draw(st.integers(0, 359))).resize(size)
    try:
        image = grey.convert(mode)
    except ValueError:
        image = grey
    out = io.BytesIO()
    try:
        image.save(out, format=fmt)
    except (OSError, ValueError, KeyError):  # a mode this format cannot hold
        image.convert("RGB").save(out, format=fmt)
    return out.getvalue()


@st.composite
def damaged(draw, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["as is", "cut", "flip", "junk after", "html after", "header"]))
    if how == "cut":
        return raw[: draw(st.integers(0, len(raw)))]
    if how == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
        return bytes(data)
    if how == "junk after":
        return raw + draw(st.binary(max_size=200))
    if how == "html after":
        return raw + b"<html><script>alert(1)</script></html>"
    if how == "header":
        return draw(st.sampled_from(HEADERS)) + raw[draw(st.integers(0, 16)) :]
    return raw


uploads = st.one_of(
    images().flatmap(damaged),
    st.binary(max_size=300),
    st.sampled_from(HEADERS).flatmap(lambda h: st.binary(max_size=300).map(lambda b: h + b)),
)


def assert_clean(data: bytes) -> None:
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and stored.mode == "RGB" and max(stored.size) <= 800
    assert not stored.getexif() and b"<script" not in data


@SETTINGS
@given(raw=uploads)
def test_any_file_is_a_clean_jpeg_or_a_dutch_refusal(app, raw):
    with app.test_request_context():
        try:
            photo = process_photo(raw)
        except DomainError as exc:
            assert exc.field == "photo" and str(exc).startswith(REFUSALS), str(exc)
        else:
            assert_clean(photo.data)


@pytest.fixture
def owner(client, login, make_user, make_course):
    from bbtraining.bookings.attendance.qualifications import record_qualification

    training = make_course(title="Training gespreksbegeleiders", qualifies_for_alumni=True)
    user = make_user("facilitator")
    record_qualification(user, training, source="admin")
    db.session.commit()
    login(user)
    assert client.post("/alumni/profile", data=PROFILE_FORM).status_code == 302
    assert upload(client, jpeg_with_gps((120, 80))).status_code == 302
    return db.session.scalar(select(AlumniProfile))


@settings(SETTINGS, max_examples=30)
@given(raw=uploads)
def test_the_upload_page_stores_or_refuses_and_keeps_the_old_photo(client, owner, raw):
    db.session.expire_all()
    before = (owner.photo_version, db.session.get(ProfilePhoto, owner.id).data)
    response = upload(client, raw)
    assert response.status_code in (302, 400), response.status_code
    db.session.expire_all()
    photo = db.session.get(ProfilePhoto, owner.id)
    if response.status_code == 400:
        page = response.get_data(as_text=True)
        assert 'id="photo-error"' in page and any(r in page for r in REFUSALS)
        assert (owner.photo_version, photo.data) == before
    else:
        assert owner.photo_version == before[0] + 1
        assert_clean(photo.data)
