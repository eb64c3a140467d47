"""Profile photos: decoded to prove they are images, stripped of metadata, re-encoded as JPEG.

Nothing the uploader sent is stored as is: only pixels survive, so EXIF (GPS position, camera
serial numbers) and anything hidden in the file are gone.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DomainError
from ..i18n import lazy_gettext as _l

MAX_BYTES = 5 * 1024 * 1024
MAX_SOURCE_PIXELS = 40_000_000  # a decompression bomb stops here, long before memory runs out
OUTPUT_SIZE = (800, 800)
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


def process_photo(raw: bytes, max_bytes: int = MAX_BYTES) -> ProcessedPhoto:
    if not raw:
        raise DomainError(_l("Kies een foto om te uploaden."), field="photo")
    if len(raw) > max_bytes:
        raise DomainError(
            _l(
                "Deze foto is te groot (%(size)s MB). Kies een foto van maximaal %(max)s MB.",
                size=f"{len(raw) / 1024 / 1024:.1f}".replace(".", ","),
                max=max_bytes // (1024 * 1024),
            ),
            field="photo",
        )
    not_an_image = DomainError(
        _l("Dit bestand is geen foto die we kunnen lezen. Kies een JPEG-, PNG- of WebP-bestand."),
        field="photo",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_an_image
                if probe.width * probe.height > MAX_SOURCE_PIXELS:
                    raise DomainError(
                        _l("Deze foto heeft te veel pixels. Kies een kleinere foto."),
                        field="photo",
                    )
                probe.verify()  # checks the file's structure without decoding all of it
            with Image.open(io.BytesIO(raw)) as image:
                image.load()  # decode every pixel: a truncated or forged file fails here
                image = ImageOps.exif_transpose(image)
                if image.mode not in ("RGB", "L"):
                    background = Image.new("RGB", image.size, (255, 255, 255))
                    rgba = image.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    image = background
                image = image.convert("RGB")
                image.thumbnail(OUTPUT_SIZE, Image.Resampling.LANCZOS)
                # A fresh image holds pixels only: no EXIF, ICC or comments carried over.
                clean = Image.new("RGB", image.size)
                clean.paste(image)
                out = io.BytesIO()
                clean.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    except DomainError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise not_an_image from exc
    return ProcessedPhoto(data=out.getvalue(), width=clean.width, height=clean.height)
