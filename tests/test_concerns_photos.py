"""Photos on a concern: only real JPEG/PNG, stored small and without metadata, shown only to who may see it.

Every image is made in memory with Pillow (or by hand, for the decompression bombs), so the suite needs
no fixtures on disk.
"""
from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image, ImageCms

from council.concerns import photos
from council.concerns.models import Concern, Photo
from council.exceptions import Refused
from council.extensions import db
from tests.test_concerns_flow import concern_id_from

MB = 1024 * 1024
GPS_IFD, ORIENTATION = 0x8825, 0x0112


# ---- images made in memory ------------------------------------------------------------------------

def jpeg_with_gps(size=(400, 200)) -> bytes:
    """A camera-like JPEG: EXIF with GPS, make and model, "rotate 90° clockwise", XMP, ICC and a comment.

    Left half red, right half blue, so the turn can be checked on the stored copy.
    """
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Phone 15"  # Make, Model
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 14.0, 12.5), 3: "E", 4: (121.0, 28.0, 7.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home, room 101",
               xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,14N</exif:GPSLatitude></x:xmpmeta>',
               icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    return out.getvalue()


def png(size, mode="RGBA", color=(0, 0, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG of `width` × `height` blank pixels: tiny on disk, huge once decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the pixel data."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: pixels follow
            return markers
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")


# ---- helpers --------------------------------------------------------------------------------------

def report_with(client, place_id, files, title="楼道里堆满了杂物"):
    """Post the report form with `files`: (bytes, file name, browser content type) each."""
    data = {"title": title, "description": "消防通道被堵", "category": "safety", "show_name": "y",
            "photos": [(io.BytesIO(body), name, kind) for body, name, kind in files]}
    return client.post(f"/places/{place_id}/concerns/new", data=data, content_type="multipart/form-data")


def stored(app, concern_id) -> list[Photo]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Photo).where(Photo.concern_id == concern_id).order_by(Photo.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Concern.id))),
                db.session.scalar(sa.select(sa.func.count(Photo.id))))


def assert_refused_on_page(app, response, words: str):
    assert response.status_code == 400
    assert words in response.text
    assert 'id="photos-error"' in response.text  # under the photos field
    assert counts(app) == (0, 0)  # neither the concern nor any photo was kept


JPEG = "image/jpeg"


# ---- what is stored -------------------------------------------------------------------------------

def test_camera_photo_is_stored_upright_without_any_metadata(app, world, login):
    original = jpeg_with_gps()
    # The test image really carries what must go.
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(GPS_IFD)[1] == "N"
        assert {"exif", "xmp", "icc_profile", "comment"} <= set(check.info)

    response = report_with(login("resident"), world.b1, [(original, "IMG_0001.JPG", JPEG)])
    assert response.status_code == 302
    [photo] = stored(app, concern_id_from(response))
    assert photo.content_type == "image/jpeg"
    # Turned as EXIF asked: 400×200 landscape becomes 200×400, red (left) now on top.
    assert (photo.width, photo.height) == (200, 400)
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.format == "JPEG" and image.size == (200, 400)
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)
        top, bottom = image.getpixel((100, 20)), image.getpixel((100, 380))
        assert top[0] > 150 and top[2] < 100 and bottom[2] > 150 and bottom[0] < 100
    # And in the bytes: only JFIF, tables and frame headers; no APP1 (EXIF/XMP), APP2 (ICC), APP13, COM.
    segments = jpeg_segments(photo.data)
    assert not [m for m in segments if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in segments]
    assert b"Exif\x00" not in photo.data and b"ns.adobe.com" not in photo.data
    assert b"PhoneMaker" not in photo.data and b"room 101" not in photo.data


def test_large_png_with_transparency_becomes_a_small_jpeg_on_white(app, world, login):
    image = Image.new("RGBA", (3000, 2000), (0, 0, 0, 0))  # transparent left half
    image.paste((30, 160, 60, 255), (1500, 0, 3000, 2000))  # opaque green right half
    out = io.BytesIO()
    image.save(out, "PNG")
    response = report_with(login("resident"), world.b1, [(out.getvalue(), "plan.png", "image/png")])
    assert response.status_code == 302
    [photo] = stored(app, concern_id_from(response))
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (1600, 1067)
    with Image.open(io.BytesIO(photo.data)) as clean:
        assert clean.format == "JPEG" and clean.mode == "RGB" and max(clean.size) <= 1600
        assert all(v > 245 for v in clean.getpixel((100, 500)))  # transparent became white
        r, g, b = clean.getpixel((1500, 500))
        assert g > 130 and r < 60 and b < 90


def test_large_camera_jpeg_is_scaled_after_being_turned():
    data, kind, width, height = photos.process_photo(io.BytesIO(jpeg_with_gps((4000, 3000))))
    assert (kind, width, height) == ("image/jpeg", 1200, 1600)
    with Image.open(io.BytesIO(data)) as clean:
        assert clean.size == (1200, 1600) and len(clean.getexif()) == 0


def test_sixteen_bit_grey_png_keeps_its_tones():
    grey = Image.new("I;16", (64, 64), 32768)  # mid grey in 16 bits
    out = io.BytesIO()
    grey.save(out, "PNG")
    data, kind, width, height = photos.process_photo(io.BytesIO(out.getvalue()))
    with Image.open(io.BytesIO(data)) as clean:
        assert kind == "image/jpeg" and (width, height) == (64, 64)
        assert 110 < clean.getpixel((32, 32))[0] < 145  # not clipped to white


def test_up_to_three_photos_are_kept_and_shown(app, world, login):
    files = [(png((80, 60), "RGB", c), f"{i}.png", "image/png")
             for i, c in enumerate([(200, 0, 0), (0, 200, 0), (0, 0, 200)])]
    resident = login("resident")
    response = report_with(resident, world.b1, files)
    assert response.status_code == 302
    cid = concern_id_from(response)
    saved = stored(app, cid)
    assert len(saved) == 3
    page = resident.get(f"/concerns/{cid}").text
    for number, photo in enumerate(saved, start=1):
        url = f"/concerns/{cid}/photos/{photo.id}"
        assert f'href="{url}"' in page and f'src="{url}"' in page
        assert f"Photo {number} of 3 of this concern" in page
    assert 'width="80" height="60" loading="lazy"' in page


def test_report_without_photos_still_works(app, world, login):
    response = report_with(login("resident"), world.b1, [])
    assert response.status_code == 302
    assert stored(app, concern_id_from(response)) == []
    assert 'class="photos"' not in login("resident").get(f"/concerns/{concern_id_from(response)}").text


def test_report_form_sends_files(world, login):
    page = login("resident").get(f"/places/{world.b1}/concerns/new").text
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file"' in page and "multiple" in page and 'accept="image/jpeg,image/png"' in page


# ---- what is refused ------------------------------------------------------------------------------

def test_text_file_named_like_a_photo_is_refused(app, world, login):
    fake = b"This is not a photo, whatever its name says.\n" * 50
    response = report_with(login("resident"), world.b1, [(fake, "photo.jpg", JPEG)])
    assert_refused_on_page(app, response, "Photos must be JPEG or PNG images.")


def test_gif_is_refused(app, world, login):
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 120, 0)).save(out, "GIF")
    response = report_with(login("resident"), world.b1, [(out.getvalue(), "photo.png", "image/png")])
    assert_refused_on_page(app, response, "Photos must be JPEG or PNG images.")


def test_one_bad_photo_keeps_nothing(app, world, login):
    good = png((50, 50), "RGB", (1, 2, 3))
    response = report_with(login("resident"), world.b1,
                           [(good, "a.png", "image/png"), (b"%PDF-1.7 not an image", "b.jpg", JPEG)])
    assert_refused_on_page(app, response, "Photos must be JPEG or PNG images.")
    assert "please choose them again" in response.text


def test_file_over_5_mb_is_refused(app, world, login):
    big = jpeg_with_gps() + b"\x00" * (6 * MB)  # a valid JPEG with 6 MB of trailing padding
    response = report_with(login("resident"), world.b1, [(big, "big.jpg", JPEG)])
    assert_refused_on_page(app, response, "Each photo must be at most 5 MB.")
    # The service refuses it too, whoever calls it, reading no more than 5 MB + 1 byte.
    with pytest.raises(Refused) as refused:
        photos.process_photo(io.BytesIO(big))
    assert refused.value.field == "photos" and "at most 5 MB" in str(refused.value.message)


def test_four_photos_are_refused(app, world, login):
    files = [(png((20, 20), "RGB", (i, i, i)), f"{i}.png", "image/png") for i in range(4)]
    response = report_with(login("resident"), world.b1, files)
    assert_refused_on_page(app, response, "At most 3 photos per concern.")


def test_a_fourth_photo_is_refused_by_the_service(app, world, login):
    files = [(png((20, 20), "RGB", (i, i, i)), f"{i}.png", "image/png") for i in range(3)]
    cid = concern_id_from(report_with(login("resident"), world.b1, files))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        concern = db.session.get(Concern, cid)
        with pytest.raises(Refused) as refused:
            photos.add_photos(concern, [io.BytesIO(png((20, 20), "RGB", (9, 9, 9)))])
        assert "At most 3 photos" in str(refused.value.message)
        db.session.rollback()
    assert len(stored(app, cid)) == 3


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """30000 × 30000 pixels (900 megapixels) in about 110 KB."""
    return png_bomb(30000, 30000)


def test_decompression_bomb_is_refused_quickly(app, world, login, bomb):
    assert len(bomb) < 200_000
    started = time.perf_counter()
    response = report_with(login("resident"), world.b1, [(bomb, "bomb.png", "image/png")])
    assert time.perf_counter() - started < 3
    assert_refused_on_page(app, response, "This image is too large")


@pytest.mark.parametrize("size", [(8000, 6000), (40001, 1000)])
def test_images_over_40_megapixels_are_refused_before_decoding(size):
    """Below Pillow's own bomb limit (about 89 MP), above ours: refused on the declared size."""
    started = time.perf_counter()
    with pytest.raises(Refused) as refused:
        photos.process_photo(io.BytesIO(png_bomb(*size)))
    assert "too large" in str(refused.value.message)
    assert time.perf_counter() - started < 3


def test_truncated_jpeg_is_refused():
    whole = jpeg_with_gps((800, 600))
    with pytest.raises(Refused):
        photos.process_photo(io.BytesIO(whole[: len(whole) // 2]))


def test_request_over_16_mb_gets_the_friendly_page(app, world, login):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * MB
    files = [(b"\x00" * (6 * MB), f"{i}.jpg", JPEG) for i in range(3)]
    response = report_with(login("resident"), world.b1, files)
    assert response.status_code == 413 and "Too much was sent" in response.text
    assert counts(app) == (0, 0)


# ---- who may see a photo --------------------------------------------------------------------------

@pytest.fixture
def posted(app, world, login):
    """A concern about building 1 with one photo: (concern id, photo id, stored bytes)."""
    cid = concern_id_from(report_with(login("resident"), world.b1, [(jpeg_with_gps(), "a.jpg", JPEG)]))
    [photo] = stored(app, cid)
    return cid, photo.id, photo.data


def test_members_of_the_place_and_its_staff_get_the_photo(world, login, posted):
    cid, pid, data = posted
    for username in ("resident", "leader", "team", "gridworker", "street_admin"):
        response = login(username).get(f"/concerns/{cid}/photos/{pid}")
        assert response.status_code == 200, username
        assert response.data == data
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, max-age=86400"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("username", ["outsider", "admin3", "leader3", "newcomer"])
def test_others_cannot_fetch_the_photo(world, login, posted, username):
    cid, pid, _data = posted
    response = login(username).get(f"/concerns/{cid}/photos/{pid}")
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/html")


def test_anonymous_is_sent_to_sign_in(client, posted):
    cid, pid, _data = posted
    client.post("/logout")  # `posted` signed the same client in
    response = client.get(f"/concerns/{cid}/photos/{pid}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_photo_of_another_concern_is_not_found(world, login, posted):
    cid, pid, _data = posted
    # The outsider's own concern, in their own estate, cannot be used to reach the resident's photo.
    outsider = login("outsider")
    own = concern_id_from(report_with(outsider, world.b4, [(png((30, 30), "RGB", (5, 5, 5)), "x.png", "image/png")],
                                      title="电梯坏了"))
    assert outsider.get(f"/concerns/{own}/photos/{pid}").status_code == 404
    resident = login("resident")
    other = concern_id_from(report_with(resident, world.estate, [], title="小区门口乱停车"))
    assert resident.get(f"/concerns/{other}/photos/{pid}").status_code == 404
    assert resident.get(f"/concerns/{cid}/photos/999999").status_code == 404
    assert resident.get(f"/concerns/999999/photos/{pid}").status_code == 404
