"""Personal data: ID numbers encrypted at rest, masked, unmasked only by an audited read; purge."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from server.extensions import db
from server.models import AuditEvent, Trainee
from server.services.idcard import synthetic_id_number
from server.services.pii import decrypt_id_number, id_number_hash
from server.services.retention import purge_expired_personal_data


def test_id_numbers_are_not_stored_in_clear(world):
    trainee = world.trainees[0]
    number = decrypt_id_number(trainee.id_number_enc)
    raw_rows = db.session.execute(text("SELECT * FROM trainee")).all()
    dump = repr(raw_rows)
    assert number not in dump and number[:14] not in dump
    assert trainee.id_masked == number[:4] + "*" * 10 + number[-4:]


def test_keyed_hash_finds_a_trainee_by_id_number(world):
    trainee = world.trainees[2]
    number = decrypt_id_number(trainee.id_number_enc)
    found = db.session.scalar(
        select(Trainee).where(Trainee.id_number_hash == id_number_hash(number.lower())))
    assert found.id == trainee.id


def test_a_reviewer_in_scope_reads_the_full_id_and_the_read_is_audited(client, world, api):
    trainee = world.trainees[0]  # county a
    response = client.get(f"/api/v1/trainees/{trainee.id}/identity",
                          headers=api.headers("county_a"))
    assert response.status_code == 200
    assert response.get_json()["id_number"] == decrypt_id_number(trainee.id_number_enc)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "pii.unmask")).all()
    assert [e.entity_id for e in events] == [str(trainee.id)]


def test_other_counties_and_other_roles_cannot_unmask(client, world, api):
    trainee = world.trainees[0]  # county a
    assert client.get(f"/api/v1/trainees/{trainee.id}/identity",
                      headers=api.headers("county_b")).status_code == 404
    for username in ("inspector_a", "base_a"):
        assert client.get(f"/api/v1/trainees/{trainee.id}/identity",
                          headers=api.headers(username)).status_code == 403
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pii.unmask")) is None


def test_purge_erases_personal_data_only_after_the_retention_period(world):
    klass = world.classes["a"]
    five_years_after = klass.end_date.replace(year=klass.end_date.year + 5)
    assert purge_expired_personal_data(five_years_after, 5) == 0
    day_after = date.fromordinal(five_years_after.toordinal() + 1)
    assert purge_expired_personal_data(day_after, 5) == 10  # both classes share dates
    db.session.commit()
    trainee = db.session.get(Trainee, world.trainees[0].id)
    assert trainee.name == "已清除" and trainee.purged_at is not None
    assert decrypt_id_number(trainee.id_number_enc) == ""
    assert trainee.birth_date.month == 1 and trainee.birth_date.day == 1


def test_retention_below_five_years_is_refused(world):
    import pytest

    with pytest.raises(ValueError):
        purge_expired_personal_data(date(2040, 1, 1), 4)


def test_synthetic_ids_are_checksum_valid():
    from server.services.idcard import is_valid_id_number

    assert is_valid_id_number(synthetic_id_number("370702", date(1980, 2, 29), 7))


def test_a_birth_date_is_judged_against_the_bureau_s_date_not_the_machine_s(app, monkeypatch):
    # 01:00 on 2 March in Shanghai is still 1 March on a server kept in UTC: someone born on
    # 2 March (a registration typed that morning) is not born "in the future" (local_today).
    from datetime import UTC, datetime

    from server.services import clock, idcard
    from server.services.rules import id_number_problem

    instant = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)

    class ShanghaiMorning(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    class MachineDate(date):
        @classmethod
        def today(cls):
            return instant.date()  # the UTC machine's date

    monkeypatch.setattr(clock, "datetime", ShanghaiMorning)
    monkeypatch.setattr(idcard, "date", MachineDate)
    born_today = synthetic_id_number("370702", date(2026, 3, 2), 7)
    born_tomorrow = synthetic_id_number("370702", date(2026, 3, 3), 7)
    with app.app_context():
        assert idcard.is_valid_id_number(born_today)
        assert id_number_problem(born_today) is None
        assert not idcard.is_valid_id_number(born_tomorrow)
        assert id_number_problem(born_tomorrow)[0] == "R3.id_invalid.birth_date"
