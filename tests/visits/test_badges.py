"""Badges: sign and verify tokens, the public key for WebCrypto, the PNGs and the A4 sheet."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import date

import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from PIL import Image
from pypdf import PdfReader

from server.services import badges
from server.services.badges import (
    TOKEN_BYTES,
    badge_key_payload,
    sign_badge,
    verify_badge_token,
)
from server.services.documents.badge_sheet import badge_sheet_pdf, class_badges

TRAINEE = uuid.UUID("11111111-2222-3333-4444-555555555555")
CLASS = uuid.UUID("66666666-7777-8888-9999-aaaaaaaaaaaa")


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_a_signed_badge_verifies_to_its_claims(app):
    token = sign_badge(TRAINEE, CLASS, date(2026, 3, 2))
    claims = verify_badge_token(token)
    assert claims is not None
    assert (claims.trainee_id, claims.class_id, claims.issued) == (TRAINEE, CLASS, date(2026, 3, 2))
    assert len(_raw(token)) == TOKEN_BYTES
    # Compact enough for a small QR code.
    assert len(token) <= 140


@pytest.mark.parametrize("offset", [1, 17, 33, 35, 60, TOKEN_BYTES - 1])
def test_an_altered_badge_is_rejected(app, offset):
    raw = _raw(sign_badge(TRAINEE, CLASS, date(2026, 3, 2)))
    raw[offset] ^= 0x01
    assert verify_badge_token(_b64(raw)) is None


def test_a_badge_moved_to_another_class_is_rejected(app):
    raw = _raw(sign_badge(TRAINEE, CLASS, date(2026, 3, 2)))
    raw[17:33] = uuid.uuid4().bytes
    assert verify_badge_token(_b64(raw)) is None


def test_a_badge_signed_with_another_key_is_rejected(app):
    forger = ec.generate_private_key(ec.SECP256R1())
    pem = forger.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()
    app.config["BADGE_SIGNING_KEY"] = pem
    forged = sign_badge(TRAINEE, CLASS, date(2026, 3, 2))
    assert verify_badge_token(forged) is not None  # genuine under the forger's key
    app.config["BADGE_SIGNING_KEY"] = ""
    assert verify_badge_token(forged) is None


def test_a_badge_from_another_secret_is_rejected(app):
    token = sign_badge(TRAINEE, CLASS, date(2026, 3, 2))
    app.config["SECRET_KEY"] = "another-deployment"
    assert verify_badge_token(token) is None


@pytest.mark.parametrize("garbage", ["", "x", "!!!!", "a" * 300, "SGVsbG8", 42, None])
def test_garbled_tokens_are_rejected_without_error(app, garbage):
    assert verify_badge_token(garbage) is None


def test_the_derived_key_is_stable_and_matches_the_published_jwk(app):
    first = badge_key_payload()
    assert first == badge_key_payload()
    jwk = first["jwk"]
    assert (first["alg"], jwk["kty"], jwk["crv"]) == ("ES256", "EC", "P-256")
    x = int.from_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="), "big")
    y = int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "=="), "big")
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raw = _raw(sign_badge(TRAINEE, CLASS, date(2026, 3, 2)))
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    der = encode_dss_signature(int.from_bytes(raw[35:67], "big"), int.from_bytes(raw[67:], "big"))
    public.verify(der, bytes(raw[:35]), ec.ECDSA(hashes.SHA256()))


def test_an_ed25519_key_in_config_is_honoured(app):
    key = ed25519.Ed25519PrivateKey.generate()
    app.config["BADGE_SIGNING_KEY"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    token = sign_badge(TRAINEE, CLASS, date(2026, 3, 2))
    assert verify_badge_token(token).version == badges.VERSION_ED25519
    assert badge_key_payload()["jwk"]["crv"] == "Ed25519"


def test_publishing_the_key_records_a_change_for_every_county(app):
    from server.extensions import db
    from server.models import ChangeLog

    entity_id = badges.publish_badge_key()
    db.session.commit()
    change = db.session.query(ChangeLog).one()
    assert (change.entity_type, change.entity_id, change.county_id) == ("badge_key", entity_id,
                                                                        None)


def test_the_roster_in_force_is_the_latest_approved_version(app, world):
    from server.extensions import db
    from server.models import Enrollment, PlanVersion

    klass = world.classes["a"]
    newer = PlanVersion(plan=world.versions["a"].plan, number=2, status="submitted")
    newer.enrollments.append(Enrollment(trainee=world.trainees[9]))
    db.session.add(newer)
    db.session.commit()
    names = [t.name for t in badges.class_roster(klass.id)]
    assert names == [f"a学员{i}" for i in range(5)]


def test_the_sheet_shows_the_chinese_names_and_heading(app, world):
    klass = world.classes["a"]
    sheet = class_badges(klass, date(2026, 3, 2))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        badge_sheet_pdf(klass, sheet, date(2026, 3, 2)))).pages)
    assert f"{klass.name} 学员签到二维码" in text
    for i in range(5):
        assert f"a学员{i}" in text
    assert world.trainees[0].id_masked in text
    # The full ID number is never printed.
    from server.services.pii import decrypt_id_number

    assert decrypt_id_number(world.trainees[0].id_number_enc) not in text


def test_badges_make_writes_a_png_per_trainee_and_the_sheet(app, world, runner, tmp_path):
    klass = world.classes["a"]
    out = tmp_path / "badges"
    result = runner.invoke(args=["badges", "make", "--class", str(klass.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    trainee_ids = {str(t.id) for t in badges.class_roster(klass.id)}
    assert {p.stem for p in out.glob("*.png")} == trainee_ids
    assert (out / "sheet.pdf").read_bytes().startswith(b"%PDF")
    first = world.trainees[0]
    # QR codes only: zxing also tries linear formats, and a QR's modules can read as a
    # Codabar (about 1 badge in 400).
    decoded = zxingcpp.read_barcodes(Image.open(out / f"{first.id}.png"),
                                     formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(decoded) == 1
    claims = verify_badge_token(decoded[0].text)
    assert (claims.trainee_id, claims.class_id) == (first.id, klass.id)


def test_badges_make_refuses_an_unknown_class(app, world, runner, tmp_path):
    result = runner.invoke(args=["badges", "make", "--class", str(uuid.uuid4()),
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no class" in result.output
    bad = runner.invoke(args=["badges", "make", "--class", "nope", "--out", str(tmp_path)])
    assert bad.exit_code == 2


def test_the_pull_carries_the_badge_key_to_every_inspector(app, world, client):
    from tests.sync.fixtures import phone

    for username, device_id in (("inspector_a", "p-a"), ("inspector_b", "p-b"),
                                ("city_inspector", "p-c")):
        changes, _ = phone(client, username, device_id).pull_all()
        keys = [c for c in changes if c["type"] == "badge_key"]
        assert len(keys) == 1
        assert keys[0]["op"] == "put"
        assert keys[0]["data"]["jwk"] == badges.public_key_jwk()
        assert keys[0]["data"]["alg"] == "ES256"


def test_a_new_key_replaces_the_old_one_on_the_phone(app, world, client):
    from tests.sync.fixtures import phone

    device = phone(client)
    changes, cursor = device.pull_all()
    old_id = next(c["id"] for c in changes if c["type"] == "badge_key")
    key = ec.generate_private_key(ec.SECP256R1())
    app.config["BADGE_SIGNING_KEY"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    changes, _ = device.pull_all(cursor)
    got = {(c["id"], c["op"]) for c in changes if c["type"] == "badge_key"}
    assert got == {(old_id, "delete"), (str(badges.badge_key_entity_id()), "put")}
    # Published once: a second pull brings nothing new.
    assert device.pull_all(cursor)[0] == changes
    from server.extensions import db
    from server.models import ChangeLog

    assert db.session.query(ChangeLog).filter_by(entity_type="badge_key").count() == 3


def test_the_pulled_key_is_worked_out_once_per_key_and_handed_out_as_a_copy(app):
    entity_id = badges.badge_key_entity_id()
    first = badges.serialise_badge_key(entity_id)
    first["jwk"]["x"] = "changed by a caller"
    second = badges.serialise_badge_key(entity_id)
    assert second == badges.BadgeKeyDataSchema().dump(badge_key_payload())
    assert second["kid"] == badges.key_id() and second["jwk"]["x"] != "changed by a caller"
    # Another key: another id and data, from the key in force.
    app.config["SECRET_KEY"] = "another-deployment"
    assert badges.badge_key_entity_id() != entity_id
    assert badges.serialise_badge_key(entity_id) is None
    assert badges.serialise_badge_key(badges.badge_key_entity_id())["kid"] == badges.key_id()
