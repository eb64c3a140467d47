"""The alumni photo upload under attack: what is not a photo, what is too large in bytes or in
pixels, and the photos that are odd but real. A refusal says why in Dutch on the photo field and
keeps everything as it was (the old photo, the profile form's values); what is accepted is stored
as a clean JPEG only, served as image/jpeg that no browser may sniff into HTML."""

import io
import os
import re
import subprocess
import sys
import time

import pytest
from PIL import Image
from sqlalchemy import func, select

from bbtraining.alumni.models import AlumniProfile, ProfilePhoto
from bbtraining.audit import AuditEntry
from bbtraining.extensions import db
from tests.alumni.test_profile import PROFILE_FORM, jpeg_with_gps, upload
from tests.conftest import ROOT

NOT_AN_IMAGE = "Dit bestand is geen foto die we kunnen lezen"
TOO_MANY_PIXELS = "Deze foto heeft te veel pixels (hooguit 40 megapixel)"
SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def blank_png(size: tuple[int, int]) -> bytes:
    """A one-bit PNG: kilobytes on disk however many pixels it announces."""
    return encoded(Image.new("1", size), "PNG")


@pytest.fixture
def owner(client, login, make_user, training):
    """A signed-in alumnus whose profile already has a photo (the one a refusal must keep)."""
    from bbtraining.bookings.attendance.qualifications import record_qualification

    user = make_user("facilitator", name="Lotte Jansen", email="lotte@example.nl")
    record_qualification(user, training, source="admin")
    db.session.commit()
    login(user)
    assert client.post("/alumni/profile", data=PROFILE_FORM).status_code == 302
    assert upload(client, jpeg_with_gps((300, 200))).status_code == 302
    return db.session.scalar(select(AlumniProfile))


def stored_state(profile: AlumniProfile):
    db.session.expire_all()
    photo = db.session.get(ProfilePhoto, profile.id)
    uploads = db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "alumni.photo_uploaded")
    )
    return profile.photo_version, photo.data if photo else None, uploads


def field_error(page: str) -> str:
    found = re.search(r'<small id="photo-error" class="field-error"[^>]*>(.*?)</small>', page, re.S)
    assert found, "no error on the photo field"
    return found.group(1)


def assert_refused(response, before, profile, message: str, status: int = 400) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:300]
    assert '<html lang="nl">' in page
    assert message in field_error(page)
    assert stored_state(profile) == before  # the old photo stays, its URL too, no audit entry
    # The profile form beside it still shows what is stored, not an empty form.
    assert 'value="Lotte J."' in page and "Ik begeleid gesprekken." in page


def truncated_jpeg() -> bytes:
    return jpeg_with_gps((1200, 900))[:4000]


BAD_FILES = {
    "a text file": (b"Mijn CV\nervaring: veel\n" * 20, "cv.txt", NOT_AN_IMAGE),
    "HTML renamed .jpg": (SCRIPT, "foto.jpg", NOT_AN_IMAGE),
    "SVG renamed .jpg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        "foto.jpg",
        NOT_AN_IMAGE,
    ),
    "a PDF": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "foto.pdf", NOT_AN_IMAGE),
    "a JPEG header, then HTML": (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + SCRIPT,
        "foto.jpg",
        NOT_AN_IMAGE,
    ),
    "a truncated JPEG": (truncated_jpeg, "foto.jpg", NOT_AN_IMAGE),
    "a TIFF (not a web format)": (
        lambda: encoded(Image.new("RGB", (20, 20)), "TIFF"),
        "foto.tif",
        NOT_AN_IMAGE,
    ),
    "an empty file": (b"", "foto.jpg", "Kies een foto om te uploaden."),
    # 6 MiB of bytes after a JPEG marker: the size counts, and is said as it is.
    "6 MB": (
        b"\xff\xd8\xff\xe0" + b"\x00" * (6 * 1024 * 1024),
        "groot.jpg",
        "Deze foto is te groot (6,0 MB). Kies een foto van maximaal 5 MB.",
    ),
    # Image bombs: tiny files announcing more pixels than we decode. 400 megapixels is beyond
    # Pillow's own error limit, 100 between its warning and its error, 41 just over ours.
    "20000 x 20000 pixels": (lambda: blank_png((20_000, 20_000)), "bom.png", TOO_MANY_PIXELS),
    "10000 x 10000 pixels": (lambda: blank_png((10_000, 10_000)), "bom.png", TOO_MANY_PIXELS),
    "6500 x 6400 pixels": (lambda: blank_png((6_500, 6_400)), "bom.png", TOO_MANY_PIXELS),
    # A WebP takes about twice the memory a pixel: its limit is lower.
    "a WebP of 4100 x 4000 pixels": (
        lambda: encoded(Image.new("RGB", (4_100, 4_000)), "WEBP", quality=1),
        "foto.webp",
        "Deze foto heeft te veel pixels (hooguit 16 megapixel)",
    ),
}


@pytest.mark.parametrize("what", BAD_FILES)
def test_bad_files_are_refused_on_the_field_and_change_nothing(client, owner, what):
    payload, name, message = BAD_FILES[what]
    payload = payload() if callable(payload) else payload
    before = stored_state(owner)
    assert before[0] == 1 and before[1] is not None
    started = time.monotonic()
    assert_refused(upload(client, payload, name), before, owner, message)
    assert time.monotonic() - started < 3  # a bomb is refused from its header, not decoded


def test_a_request_over_the_limit_gets_the_photo_page_not_a_bare_413(app, client, owner):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert 5 * 1024 * 1024 < limit <= 32 * 1024 * 1024
    before = stored_state(owner)
    response = upload(client, b"\xff\xd8\xff\xe0" + b"\x00" * limit, "enorm.jpg")
    assert_refused(response, before, owner, "Deze foto is te groot (16,0 MB)", status=413)


def test_any_other_request_over_the_limit_gets_a_dutch_page(app, client):
    response = client.post(
        "/auth/register", data={"name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert '<html lang="nl">' in page and "Wat u verstuurde is te groot" in page
    assert "Request Entity Too Large" not in page


def test_a_too_long_text_field_gets_a_dutch_page(client, owner):
    """Werkzeug keeps at most 500 kB of a multipart text field in memory (MAX_FORM_MEMORY_SIZE);
    on the photo's route too, that is not a photo too large."""
    before = stored_state(owner)
    response = client.post(
        "/alumni/profile/photo",
        data={"photo": (io.BytesIO(b""), "foto.jpg"), "bio": "a" * 600_000},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Wat u verstuurde is te groot" in response.get_data(as_text=True)
    assert stored_state(owner) == before


def grey_16_bit() -> bytes:
    # Left half 0x4000 (a quarter grey), right half 0xC000 (three quarters).
    image = Image.new("I", (200, 100), 0x4000)
    image.paste(0xC000, (100, 0, 200, 100))
    return encoded(image.convert("I;16"), "PNG")


def animated_gif(frames: int = 300) -> bytes:
    images = [Image.new("P", (120, 120), i % 200) for i in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=20)


def phone_mpo() -> bytes:
    """A JPEG with a second picture appended (MPF), as many phones write: Pillow says 'MPO'."""
    main, extra = Image.new("RGB", (640, 480), (10, 120, 10)), Image.new("RGB", (160, 120))
    return encoded(main, "MPO", save_all=True, append_images=[extra])


def turned_jpeg() -> bytes:
    """Stored landscape, with EXIF orientation 6: the camera was held upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 30.0), 3: "E", 4: (4.0, 53.0, 0.0)}
    image = Image.new("RGB", (400, 200), (0, 0, 200))
    image.paste((255, 255, 0), (0, 0, 50, 200))  # a yellow left edge becomes the top edge
    return encoded(image, "JPEG", exif=exif)


GOOD_FILES = {
    "CMYK JPEG": (lambda: encoded(Image.new("CMYK", (300, 200), (0, 200, 200, 0)), "JPEG"), None),
    "16-bit grey PNG": (grey_16_bit, None),
    "animated GIF of 300 frames": (animated_gif, None),
    "phone JPEG with a second picture (MPO)": (phone_mpo, None),
    "PNG with transparency": (lambda: encoded(Image.new("LA", (200, 200), (0, 0)), "PNG"), None),
    "WebP": (lambda: encoded(Image.new("RGB", (200, 100), (9, 9, 9)), "WEBP"), None),
    "JPEG with EXIF orientation and GPS": (turned_jpeg, None),
    "JPEG followed by HTML (a polyglot)": (lambda: jpeg_with_gps((200, 200)) + SCRIPT, None),
}


@pytest.mark.parametrize("what", GOOD_FILES)
def test_odd_real_photos_are_stored_as_clean_jpeg(client, owner, what):
    make, _ = GOOD_FILES[what]
    raw = make()
    version_before = stored_state(owner)[0]
    response = upload(client, raw, "foto.jpg")
    assert response.status_code == 302, field_error(response.get_data(as_text=True))
    version, data, _uploads = stored_state(owner)
    assert version == version_before + 1
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and stored.mode == "RGB" and max(stored.size) <= 800
    assert not stored.getexif() and "icc_profile" not in stored.info
    assert b"<script" not in data and b"Exif" not in data and b"SecretCam" not in data
    served = client.get(f"/alumni/{owner.id}/photo/{version}.jpg")
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    if what == "16-bit grey PNG":  # scaled to 8 bits, not clipped to white
        grey = stored.convert("L")
        left, right = grey.getpixel((20, 50)), grey.getpixel((180, 50))
        assert abs(left - 0x40) < 6 and abs(right - 0xC0) < 6
    if what == "JPEG with EXIF orientation and GPS":
        assert stored.size == (200, 400)  # upright
        r, g, b = stored.getpixel((100, 10))
        assert r > 200 and g > 200 and b < 80  # the yellow edge is on top
    if what == "PNG with transparency":
        assert stored.getpixel((100, 100)) == (255, 255, 255)  # flattened on white


def test_memory_stays_bounded_for_the_largest_photo_accepted(tmp_path):
    """The largest accepted: a 40-megapixel JPEG (decoded at reduced scale) and PNG, a
    16-megapixel WebP, each processed in a fresh process whose peak memory is measured: well
    below what several full-size copies would take."""
    script = tmp_path / "peak.py"
    script.write_text(
        "import io, resource, sys\n"
        "from PIL import Image\n"
        "from bbtraining.alumni.photos import process_photo\n"
        "raw = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "photo = process_photo(raw)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(photo.width, photo.height, (after - before) // 1024)\n"
    )
    size = (7_000, 5_700)  # 39.9 megapixels
    # MB above the process' start; RGB is 120 MB per copy at 40 megapixels.
    limits = {"JPEG": (size, 80), "PNG": (size, 260), "WEBP": ((4_400, 3_581), 300)}
    for fmt, (size, limit) in limits.items():
        path = tmp_path / f"big.{fmt.lower()}"
        path.write_bytes(encoded(Image.new("RGB", size, (90, 140, 200)), fmt))
        out = subprocess.run(
            [sys.executable, str(script), str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout.split()
        assert out[:2] == ["800", "651"]  # the same proportions
        assert int(out[2]) < limit, f"{fmt}: {out[2]} MB"


def test_the_upload_field_asks_the_browser_for_images_only(client, owner):
    page = client.get("/alumni/profile").get_data(as_text=True)
    assert 'accept="image/jpeg,image/png,image/webp,image/gif"' in page
