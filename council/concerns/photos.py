"""Photos on a concern: only real JPEG and PNG, re-encoded small, with every bit of metadata dropped.

A resident's phone photo can carry where it was taken (GPS), when, and with which device; none of
that belongs on a page the whole building reads. So an upload is never stored as sent: it is decoded,
turned upright, scaled down and written out again as a fresh JPEG with no EXIF, XMP, ICC or comment.
"""
from __future__ import annotations

import io
import warnings
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from council.concerns.models import Concern, Photo
from council.exceptions import Refused
from council.extensions import db

MAX_PHOTOS = 3  # per concern
MAX_BYTES = 5 * 1024 * 1024  # per upload, as sent
# Decoded size, checked on the declared dimensions before any pixel is decoded: a small file can
# declare a huge image (decompression bomb). 40 MP is above any phone camera's photo.
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600  # the long side of the stored copy
THUMB_SIDE = 320  # the long side a photo is shown at on the concern's page (the browser scales it)
JPEG_QUALITY = 82
CONTENT_TYPE = "image/jpeg"
# What Pillow may even try to read: decided by the file's content, never its name or declared type.
# MPO is the JPEG that some cameras write with a second, preview image inside.
FORMATS = ("JPEG", "PNG")
ACCEPTED = frozenset({"JPEG", "MPO", "PNG"})

NOT_AN_IMAGE = _l("Photos must be JPEG or PNG images.")
TOO_MANY = _l("At most %(n)s photos per concern.", n=MAX_PHOTOS)
TOO_LARGE = _l("Each photo must be at most %(n)s MB.", n=MAX_BYTES // (1024 * 1024))
TOO_MANY_PIXELS = _l("This image is too large (more than %(n)s megapixels).", n=MAX_PIXELS // 1_000_000)
UNREADABLE = _l("This photo could not be read. Please choose another.")
_sRGB = ImageCms.createProfile("sRGB")


def process_photo(stream: BinaryIO) -> tuple[bytes, str, int, int]:
    """Check an upload and return (JPEG bytes, content type, width, height) of its clean copy.

    Refused (under the `photos` field) if it is not a real JPEG or PNG, is over 5 MB, declares more
    than 40 megapixels, or cannot be decoded.
    """
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused(TOO_LARGE, "photos")
    image = _decode(data)
    try:
        image = _clean(image)
    except Exception as error:  # a broken file that only fails while being turned or converted
        raise Refused(UNREADABLE, "photos") from error
    out = io.BytesIO()
    # `image` is a new image with an empty info dict, and nothing is passed to carry metadata over:
    # the file has only the JFIF header, the quantisation tables and the pixels.
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), CONTENT_TYPE, image.width, image.height


def _decode(data: bytes) -> Image.Image:
    """Open and decode the pixels, refusing anything that is not a JPEG or PNG of sane size."""
    with warnings.catch_warnings():
        # Pillow warns above its own (higher) limit and raises above twice that; both are refusals.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise Refused(TOO_MANY_PIXELS, "photos") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise Refused(NOT_AN_IMAGE, "photos") from error
        if image.format not in ACCEPTED:
            raise Refused(NOT_AN_IMAGE, "photos")
        if image.width * image.height > MAX_PIXELS:
            raise Refused(TOO_MANY_PIXELS, "photos")
        # A large JPEG is decoded at 1/2, 1/4 or 1/8 scale straight away, never below MAX_SIDE.
        image.draft(None, (MAX_SIDE, MAX_SIDE))
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise Refused(TOO_MANY_PIXELS, "photos") from error
        except Exception as error:  # Pillow raises many kinds of error on malformed data
            raise Refused(UNREADABLE, "photos") from error
    return image


def _clean(image: Image.Image) -> Image.Image:
    """Upright, at most MAX_SIDE on the long side, RGB in sRGB, on white where it was transparent."""
    icc = image.info.get("icc_profile")
    ImageOps.exif_transpose(image, in_place=True)  # phones store "rotate me" in EXIF, not in pixels
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey (PNG): scale to 8 bits; a plain convert would clip nearly everything to white.
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        image = image.convert("RGBA")
    elif image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if has_alpha:
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image, mask=image.getchannel("A"))
        image = white
    image = _to_srgb(image, icc)
    # A fresh image holds the pixels only: no info, no EXIF, no XMP, no comment.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return clean


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Apply the photo's colour profile (e.g. Display P3 from phones) so it can be dropped."""
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, profile, _sRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: keep the pixels as they are
    return image.convert("RGB")


def add_photos(concern: Concern, files) -> list[Photo]:
    """Store the uploads (empty file inputs skipped) as clean photos of the concern, at most 3 in all.

    Every file is checked before anything is added, so one refused photo leaves nothing behind.
    """
    files = [f for f in (files or []) if f]
    if not files:
        return []
    present = db.session.scalar(sa.select(sa.func.count(Photo.id)).where(Photo.concern_id == concern.id)) or 0
    if present + len(files) > MAX_PHOTOS:
        raise Refused(TOO_MANY, "photos")
    clean = [process_photo(f) for f in files]
    photos = [Photo(concern_id=concern.id, data=data, content_type=content_type, width=width, height=height)
              for data, content_type, width, height in clean]
    db.session.add_all(photos)
    db.session.flush()
    return photos


def photos_of(concern_id: int, limit: int = MAX_PHOTOS) -> list[dict]:
    """Id, size and thumbnail size of a concern's photos, oldest first, without loading the image bytes."""
    rows = db.session.execute(sa.select(Photo.id, Photo.width, Photo.height).where(Photo.concern_id == concern_id)
                              .order_by(Photo.id).limit(limit))
    result = []
    for photo_id, width, height in rows:
        scale = min(1.0, THUMB_SIDE / max(width, height, 1))
        result.append({"id": photo_id, "width": width, "height": height,
                       "thumb_width": max(1, round(width * scale)), "thumb_height": max(1, round(height * scale))})
    return result


def get_photo(concern: Concern, photo_id: int) -> Photo | None:
    """The photo, if it is one of this concern's."""
    photo = db.session.get(Photo, photo_id)
    return photo if photo is not None and photo.concern_id == concern.id else None
