"""Hypothesis properties: ID validation, and tus offsets under arbitrary chunking and drops.

(Seal canonicalisation has its own properties in tests/sync_unit/test_canonical_cursor.py.)
"""

from __future__ import annotations

import hashlib
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.services import media_store
from server.services.idcard import (
    check_character,
    is_valid_id_number,
    mask_id_number,
    synthetic_id_number,
)
from tests.media.tus_client import Tus, make_jpeg

TODAY = date(2026, 11, 27)
REGIONS = st.sampled_from(["370702", "370703", "370705", "370783", "110101", "440305"])
BIRTHS = st.dates(date(1900, 1, 1), TODAY)
SERIALS = st.integers(0, 999)


@given(REGIONS, BIRTHS, SERIALS)
def test_every_well_formed_number_is_valid_and_masks_to_its_ends(region, born, serial):
    number = synthetic_id_number(region, born, serial)
    assert is_valid_id_number(number, today=TODAY)
    assert is_valid_id_number(number.lower(), today=TODAY) == is_valid_id_number(number,
                                                                                 today=TODAY)
    masked = mask_id_number(number)
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:] and set(masked[4:-4]) == {"*"}


@given(REGIONS, BIRTHS, SERIALS, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_caught(region, born, serial, position, shift):
    number = synthetic_id_number(region, born, serial)
    wrong = str((int(number[position]) + shift) % 10)
    altered = number[:position] + wrong + number[position + 1:]
    assert not is_valid_id_number(altered, today=TODAY)


@given(REGIONS, BIRTHS, SERIALS, st.integers(0, 15))
def test_any_adjacent_transposition_is_caught(region, born, serial, position):
    number = synthetic_id_number(region, born, serial)
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2:]
    if a != b:
        assert not is_valid_id_number(swapped, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_fifteen_digit_numbers_are_always_refused(number):
    assert not is_valid_id_number(number, today=TODAY)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_character_is_the_only_one_that_fits(first17):
    right = check_character(first17)
    for candidate in "0123456789X":
        assert (check_character(first17) == candidate) == (candidate == right)


# --- tus: whatever the chunking and wherever connections drop, the file arrives whole ------------

drops = st.lists(
    st.tuples(st.integers(256, 6000), st.one_of(st.none(), st.floats(0.0, 0.99))),
    min_size=1, max_size=12,
)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=drops, seed=st.integers(0, 10_000))
def test_tus_offsets_only_grow_and_the_file_arrives_whole(client, api, world, plan, seed):
    tus = Tus(client, api.headers("inspector_a"))
    photo = make_jpeg(side=96, seed=seed)
    created = tus.create(photo)
    assert created.status_code == 201
    location = created.headers["Location"]
    if created.headers["Upload-Offset"] == str(len(photo)):
        return  # this seed's photo was stored by an earlier example: nothing to send
    offset, steps = 0, 0
    while offset < len(photo):
        size, drop = plan[steps % len(plan)]
        steps += 1
        chunk = photo[offset:offset + size]
        if len(chunk) < 2:
            drop = None  # a single byte either arrives or does not: nothing to drop mid-way
        if drop is not None:
            # The connection dies after part of the chunk: the server keeps what arrived.
            # At least a byte, so every step moves; never the whole chunk, or it is no drop.
            sent = chunk[:min(len(chunk) - 1, max(1, int(len(chunk) * drop)))]
            assert tus.patch(location, offset, sent, content_length=len(chunk)).status_code == 400
        else:
            assert tus.patch(location, offset, chunk).status_code == 204
        head_offset = int(tus.head(location).headers["Upload-Offset"])
        # The server kept exactly what arrived: never less, never more, never past the end.
        assert head_offset == offset + (len(sent) if drop is not None else len(chunk))
        assert head_offset <= len(photo)
        if 0 < head_offset < len(photo):
            # A stale offset is refused and changes nothing.
            assert tus.patch(location, head_offset - 1, b"x").status_code == 409
            assert int(tus.head(location).headers["Upload-Offset"]) == head_offset
        offset = head_offset
        assert steps <= len(photo)
    sha = hashlib.sha256(photo).hexdigest()
    assert media_store.file_sha256(media_store.media_path(sha)) == sha
