"""Profile photos: decoded to prove they are images, stripped of metadata, re-encoded as JPEG.

Nothing the uploader sent is stored as is: only pixels survive, so EXIF (GPS position, camera
serial numbers) and anything hidden in the file (HTML after the image data) are gone.

Memory stays bounded: the size in bytes is checked before anything is parsed, the size in pixels
from the header before anything is decoded (a small PNG can announce 400 megapixels), a JPEG is
decoded at a reduced scale, and each full-size copy is released as soon as the next one exists.
"""

import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from ..errors import DomainError
from ..i18n import lazy_gettext as _l

MAX_BYTES = 5 * 1024 * 1024
MAX_SOURCE_PIXELS = 40_000_000  # a decompression bomb stops here, long before memory runs out
# libwebp decodes into a canvas of its own and Pillow copies it twice: about 15 bytes a pixel at
# the peak, against at most 8 for the others (a JPEG far less: it is decoded at reduced scale).
MAX_SOURCE_PIXELS_BY_FORMAT = {"WEBP": 16_000_000}
OUTPUT_SIZE = (800, 800)
# Only these parsers ever see an upload. The JPEG parser also opens what Pillow calls MPO: a JPEG
# with a second picture appended (a preview or depth map), as many phones write them.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif"
ORIENTATION = 0x0112
TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIXTEEN_BIT_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N")


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


def too_large(size: int, max_bytes: int) -> DomainError:
    """The refusal of a file over `max_bytes`, also used when the whole request was too large."""
    return DomainError(
        _l(
            "Deze foto is te groot (%(size)s MB). Kies een foto van maximaal %(max)s MB.",
            size=f"{size / 1024 / 1024:.1f}".replace(".", ","),
            max=max_bytes // (1024 * 1024),
        ),
        field="photo",
    )


def _not_an_image() -> DomainError:
    return DomainError(
        _l("Dit bestand is geen foto die we kunnen lezen. Kies een JPEG-, PNG- of WebP-bestand."),
        field="photo",
    )


def _too_many_pixels(max_pixels: int = MAX_SOURCE_PIXELS) -> DomainError:
    return DomainError(
        _l(
            "Deze foto heeft te veel pixels (hooguit %(max)s megapixel). Kies een kleinere foto.",
            max=max_pixels // 1_000_000,
        ),
        field="photo",
    )


def _read(source: bytes | BinaryIO, max_bytes: int) -> tuple[bytes, int]:
    """At most `max_bytes + 1` bytes of the upload, and its real size (to say how large it was)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source[: max_bytes + 1]), len(source)
    raw = source.read(max_bytes + 1)
    size = len(raw)
    if size > max_bytes and source.seekable():
        size = source.seek(0, io.SEEK_END)
    return raw, size


def process_photo(source: bytes | BinaryIO, max_bytes: int = MAX_BYTES) -> ProcessedPhoto:
    """The upload re-encoded as a JPEG of at most OUTPUT_SIZE, or a DomainError on `photo`."""
    raw, size = _read(source, max_bytes)
    if not size:
        raise DomainError(_l("Kies een foto om te uploaden."), field="photo")
    if size > max_bytes:
        raise too_large(size, max_bytes)
    try:
        with Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS) as probe:
            max_pixels = MAX_SOURCE_PIXELS_BY_FORMAT.get(probe.format, MAX_SOURCE_PIXELS)
            if probe.width * probe.height > max_pixels:  # read from the header only
                raise _too_many_pixels(max_pixels)
            probe.verify()  # checks the file's structure without decoding all of it
        clean = _pixels_only(Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS))
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limits lie above ours; with warnings as errors (the tests) it says first.
        raise _too_many_pixels() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _not_an_image() from exc
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return ProcessedPhoto(data=out.getvalue(), width=clean.width, height=clean.height)


def _pixels_only(source: Image.Image) -> Image.Image:
    """A new RGB image of at most OUTPUT_SIZE, upright, with nothing of the file but its pixels."""
    try:
        orientation = source.getexif().get(ORIENTATION)
        if source.format in ("JPEG", "MPO"):
            # Decode at 1/2, 1/4 or 1/8 scale: a 40-megapixel photo needs a few MB, not 120.
            source.draft("RGB", (OUTPUT_SIZE[0] * 2, OUTPUT_SIZE[1] * 2))
        source.load()  # decodes every pixel (of the first frame): a truncated file fails here
        image = _working_mode(source)
        if image is not source:
            source.close()  # frees the decoded pixels now that a converted copy holds them
        image.thumbnail(OUTPUT_SIZE, Image.Resampling.LANCZOS)
        if image.mode == "I":  # 16-bit grey: 0..65535 onto 0..255
            image = image.point(lambda v: v * (1 / 256)).convert("L")
        if orientation in TRANSPOSE_FOR_ORIENTATION:
            image = image.transpose(TRANSPOSE_FOR_ORIENTATION[orientation])
        # A fresh image holds pixels only: no EXIF, ICC or comments carried over.
        clean = Image.new("RGB", image.size, (255, 255, 255))
        if image.mode == "RGBA":
            clean.paste(image, mask=image.getchannel("A"))  # transparency flattened on white
        else:
            clean.paste(image.convert("RGB"))
        return clean
    finally:
        source.close()


def _working_mode(image: Image.Image) -> Image.Image:
    """The image in a mode that scales well (RGB, RGBA, L or 16-bit I): itself when it is."""
    if image.mode in SIXTEEN_BIT_GREY:
        wanted = "I"
    elif image.mode in ("LA", "La", "PA", "RGBa") or image.has_transparency_data:
        wanted = "RGBA"
    elif image.mode in ("1", "L"):
        wanted = "L"
    else:
        wanted = "RGB"
    return image if image.mode == wanted else image.convert(wanted)
