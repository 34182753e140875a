"""The bench mints the pushed records' ids as the phone does (UUIDv7, RFC 9562)."""

from __future__ import annotations

import random
import uuid

import pytest

from bench.bench_sync import record_id, uuid7


def test_uuid7_carries_its_millisecond_version_and_variant():
    rng = random.Random(1)
    unix_ms = 1_772_413_200_123
    made = uuid7(unix_ms, rng)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == unix_ms
    assert uuid7(unix_ms, rng) != made  # the random bits differ


def test_later_milliseconds_sort_later_as_text_too():
    rng = random.Random(2)
    ids = [str(uuid7(1_772_413_200_000 + step, rng)) for step in range(0, 5000, 7)]
    assert ids == sorted(ids)


@pytest.mark.parametrize(("kind", "version"), [("v7", 7), ("v4", 4)])
def testrecord_ids_of_each_kind(kind, version):
    assert uuid.UUID(record_id(kind, 1_772_413_200_000, random.Random(3))).version == version
