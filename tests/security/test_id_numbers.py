"""ID numbers: one normal form (NFKC, then ASCII digits and X) for validation, duplicates, storage
and the look-up hash; the birth date is not kept in clear beside the mask, nor printed beside it."""

from __future__ import annotations

from datetime import date

import pytest

from server.extensions import db
from server.models import Trainee
from server.services.idcard import is_valid_id_number, mask_id_number, normalise_id_number
from server.services.pii import decrypt_id_number, id_number_hash
from server.services.rules import TraineeFacts, check_trainee
from tests.plans.filing_support import Filing, trainee_row

ASCII = "37070219880512300X"
FULL = ASCII.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
ARABIC_INDIC = ASCII[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + "x"


@pytest.fixture
def filing(client, api, world):
    return Filing(client, api, world)


@pytest.mark.parametrize("typed", [
    FULL, FULL[:17] + "X", ARABIC_INDIC, ASCII.lower(), " 3707 0219 8805 1230 0x ",
    "3707021988\u200b0512300X", "\u3000" + FULL,
])
def test_every_way_of_typing_one_number_is_the_same_number(app, typed):
    assert normalise_id_number(typed) == ASCII
    assert is_valid_id_number(typed)
    assert id_number_hash(typed) == id_number_hash(ASCII)
    assert mask_id_number(typed) == mask_id_number(ASCII)


def test_other_characters_are_kept_so_the_number_stays_invalid():
    assert normalise_id_number("37070219880512300✕") != ASCII  # a multiplication sign is no X
    assert not is_valid_id_number("3707021988051232１?")


def test_full_width_and_mixed_copies_of_one_person_enrol_once(filing, world):
    klass = filing.new_class()
    version_id = klass["versions"][0]["id"]
    base = trainee_row(1)
    ascii_id = base["id_number"]
    full = ascii_id.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    rows = [dict(base, id_number=n) for n in (ascii_id, full, full[:17] + ascii_id[17])]
    response = filing.call("put", f"/plan-versions/{version_id}/roster", "base_a",
                           json={"trainees": rows})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()["rows"]
    assert [r["enrolled"] for r in result] == [True, False, False]
    assert [[v["code"] for v in r["violations"]] for r in result[1:]] == [["R3.duplicate"]] * 2
    stored = db.session.execute(db.select(Trainee).where(
        Trainee.id_number_hash == id_number_hash(ascii_id))).scalar_one()
    assert decrypt_id_number(stored.id_number_enc) == ascii_id


def test_only_the_birth_year_is_stored(filing):
    klass = filing.new_class()
    version_id = klass["versions"][0]["id"]
    row = trainee_row(2, born=date(1987, 11, 14))
    assert filing.call("put", f"/plan-versions/{version_id}/roster", "base_a",
                       json={"trainees": [row]}).status_code == 200
    trainee = db.session.execute(db.select(Trainee).where(
        Trainee.id_number_hash == id_number_hash(row["id_number"]))).scalar_one()
    assert trainee.birth_date == date(1987, 1, 1)


def test_the_age_rule_still_judges_the_exact_date():
    start = date(2026, 3, 1)
    number = lambda born: f"370702{born:%Y%m%d}321"  # noqa: E731
    from server.services.idcard import check_character

    def facts(born: date) -> TraineeFacts:
        first17 = number(born)
        return TraineeFacts(name="甲", id_number=first17 + check_character(first17),
                            education="高中", certificate_level="高级工",
                            certificate_date=date(2015, 1, 1), employer_kind="企业")

    assert check_trainee(facts(date(1976, 3, 1)), start) == []
    found = check_trainee(facts(date(1975, 3, 1)), start)
    assert [v.code for v in found] == ["R3.age"]
    assert "1975" not in found[0].message_zh and "1975" not in found[0].message_en
    assert "born" not in found[0].to_dict().get("values", {})


def test_age_violations_in_answers_carry_no_birth_date(filing):
    klass = filing.new_class()
    version_id = klass["versions"][0]["id"]
    row = trainee_row(3, born=date(1960, 7, 19))
    body = filing.call("put", f"/plan-versions/{version_id}/roster", "base_a",
                       json={"trainees": [row]}).get_json()
    text = str(body)
    assert "R3.age" in text
    assert "1960-07-19" not in text and "19600719" not in text
