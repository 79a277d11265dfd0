"""Photo uploads: upright, stripped, sRGB; hostile or broken uploads refused with a 4xx."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from support.alerts import amber_alert
from support.api import auth, create
from support.config import EDITOR, VIEWER

from feedserver.photos import MAX_BYTES


def drawn_photo(size=(600, 400), mode="RGB", fmt="JPEG", **save) -> bytes:
    """A test photo: left half red, right half blue, so orientation is checkable."""
    image = Image.new(mode, size, (255, 0, 0, 255)[: len(mode)] if mode != "CMYK" else
                      (0, 255, 255, 0))
    right = Image.new(mode, (size[0] // 2, size[1]),
                      (0, 0, 255, 128)[: len(mode)] if mode != "CMYK" else (255, 255, 0, 0))
    image.paste(right, (size[0] // 2, 0))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


async def upload(client, data: bytes, content_type: str = "image/jpeg", **params):
    return await client.post("/v1/photos", data=data, params=params,
                             headers={**auth(EDITOR), "Content-Type": content_type})


async def fetch(client, photo_id: str) -> Image.Image:
    response = await client.get(f"/v1/photos/{photo_id}", headers=auth(VIEWER))
    assert response.status == 200
    return Image.open(io.BytesIO(await response.read()))


async def test_upload_applies_exif_orientation_and_strips_metadata(client):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Testcam"
    response = await upload(client, drawn_photo(exif=exif.tobytes()), focus="0.5,0.3")
    body = await response.json()
    assert response.status == 201, body
    assert (body["width"], body["height"]) == (400, 600)
    assert body["focus"] == [0.5, 0.3]
    image = await fetch(client, body["id"])
    assert image.size == (400, 600)
    assert not image.getexif()
    top, bottom = image.getpixel((200, 50)), image.getpixel((200, 550))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


async def test_cmyk_jpeg_becomes_rgb(client):
    response = await upload(client, drawn_photo(mode="CMYK"))
    body = await response.json()
    assert response.status == 201, body
    image = await fetch(client, body["id"])
    assert image.mode == "RGB"
    assert image.getpixel((10, 10))[0] > 200


async def test_png_with_alpha_keeps_transparency(client):
    response = await upload(client, drawn_photo(mode="RGBA", fmt="PNG"), "image/png")
    body = await response.json()
    assert response.status == 201 and body["content_type"] == "image/png"
    assert (await fetch(client, body["id"])).mode == "RGBA"


async def test_photo_can_be_used_in_an_alert(client):
    photo = await (await upload(client, drawn_photo())).json()
    child = {"name": "Fleur Testkind", "age": 9, "photo": photo["id"]}
    alert = await create(client, amber_alert(children=[child]))
    assert alert["children"][0]["photo"] == photo["id"]


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming huge dimensions, with a tiny compressed body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize(("data", "content_type", "status", "words"), [
    (b"definitely not an image", "image/jpeg", 422, "not a JPEG"),
    (drawn_photo()[:2000], "image/jpeg", 422, "truncated"),
    (bomb_png(30000, 30000), "image/png", 422, "pixels"),
    (bomb_png(9000, 9000), "image/png", 422, "pixels"),
    (drawn_photo(fmt="PNG"), "image/jpeg", 422, "not JPEG"),
    (b"GIF89a", "image/gif", 415, "Content-Type"),
    (b"x" * (MAX_BYTES + 1), "image/jpeg", 413, "larger"),
])
async def test_bad_uploads_are_refused(client, data, content_type, status, words):
    response = await upload(client, data, content_type)
    body = await response.json()
    assert response.status == status, body
    assert words in body["error"]["message"]


async def test_bad_focus_is_400(client):
    response = await upload(client, drawn_photo(), focus="2,0.5")
    assert response.status == 400
    assert (await response.json())["error"]["details"][0]["field"] == "focus"


async def test_editor_role_needed_to_upload(client):
    response = await client.post("/v1/photos", data=drawn_photo(),
                                 headers={**auth(VIEWER), "Content-Type": "image/jpeg"})
    assert response.status == 403
