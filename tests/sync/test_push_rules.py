"""The push algorithm over an in-memory store: replay, gap, kept rejections, reuse."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from sync.push import Mutation, Outcome, Rejected, Result, apply_push, stored_form


class MemoryStore:
    """A Store whose attempt() undoes a failed mutation's writes, like a savepoint."""

    def __init__(self) -> None:
        self.ledger: dict[tuple[str, int], tuple[str, dict]] = {}
        self.records: list[str] = []

    def last_seq(self, device_id):
        return max([s for d, s in self.ledger if d == device_id], default=0)

    def ledger_entries(self, device_id, seqs):
        return {s: dict(self.ledger[(device_id, s)][1])
                for s in seqs if (device_id, s) in self.ledger}

    def mutation_owners(self, mutation_ids):
        return {key: (d, s) for (d, s), (key, _) in self.ledger.items() if key in mutation_ids}

    @contextmanager
    def attempt(self):
        before = len(self.records)
        try:
            yield
        except Exception:
            del self.records[before:]
            raise

    def record(self, device_id, ledger_key, mutation, result):
        self.ledger[(device_id, mutation.seq)] = (ledger_key, dict(result))


def mutation(seq, kind="note", payload=None, mutation_id=None):
    return Mutation(mutation_id or str(uuid.uuid4()), seq, kind, str(uuid.uuid4()), None, {},
                    payload or {})


def handlers(store):
    def note(m):
        store.records.append(m.payload.get("text", ""))
        if m.payload.get("bad"):
            raise Rejected("note.bad", "bad note")
        return Outcome(flags=["note.flag"] if m.payload.get("flag") else [])
    return {"note": note}


def test_apply_replay_gap_and_kept_rejection():
    store = MemoryStore()
    batch = [mutation(1, payload={"text": "a"}), mutation(2, payload={"text": "b", "bad": True}),
             mutation(3, payload={"text": "c", "flag": True})]
    response = apply_push(store, "d", batch, handlers(store))
    assert [r["status"] for r in response.results] == ["applied", "rejected", "flagged"]
    assert response.results[1]["code"] == "note.bad" and response.results[2]["code"] == "note.flag"
    assert store.records == ["a", "c"]  # the rejection's write was undone, the seq kept
    assert response.last_seq == 3
    again = apply_push(store, "d", batch, handlers(store))
    assert all(r["replayed"] for r in again.results)
    assert [r["status"] for r in again.results] == ["applied", "rejected", "flagged"]
    assert store.records == ["a", "c"]
    shuffled = apply_push(store, "d", [mutation(5), mutation(4)], handlers(store))
    assert [r["seq"] for r in shuffled.results] == [5, 4]  # answered in request order
    assert [r["status"] for r in shuffled.results] == ["applied", "applied"]  # applied in seq order
    assert shuffled.last_seq == 5


def test_gap_stops_everything_after_it():
    store = MemoryStore()
    response = apply_push(store, "d", [mutation(2), mutation(3)], handlers(store))
    assert [r["status"] for r in response.results] == ["gap", "gap"]
    assert store.ledger == {} and response.last_seq == 0


def test_reused_mutation_id_and_reused_seq():
    store = MemoryStore()
    first = mutation(1)
    apply_push(store, "d", [first], handlers(store))
    reused = apply_push(store, "d", [mutation(2, mutation_id=first.mutation_id)], handlers(store))
    assert reused.results[0]["code"] == "sync.mutation_reused" and reused.last_seq == 2
    stolen = apply_push(store, "d", [mutation(1)], handlers(store))
    assert (stolen.results[0]["status"], stolen.results[0]["code"]) == ("rejected",
                                                                     "sync.seq_reused")
    other_device = apply_push(store, "e", [mutation(1, mutation_id=first.mutation_id)],
                              handlers(store))
    assert other_device.results[0]["code"] == "sync.mutation_reused"


def test_unknown_type_is_rejected_and_consumes_the_seq():
    store = MemoryStore()
    response = apply_push(store, "d", [mutation(1, kind="nope"), mutation(2)], handlers(store))
    assert [r["status"] for r in response.results] == ["rejected", "applied"]
    assert response.results[0]["code"] == "sync.unknown_type"


def test_a_replay_is_the_stored_result_marked_replayed():
    """Every member the first answer had comes back (detail, params, flags, errors)."""
    store = MemoryStore()
    batch = [mutation(1, payload={"text": "a", "bad": True}),
             mutation(2, payload={"text": "b", "flag": True})]
    first = apply_push(store, "d", batch, handlers(store))
    again = apply_push(store, "d", batch, handlers(store))
    assert again.results == [{**r, "replayed": True} for r in first.results]
    assert first.results[0]["detail"] == "bad note" and first.results[1]["flags"] == ["note.flag"]
    assert again.counts() == {"replayed": 2} and first.counts() == {"rejected": 1, "flagged": 1}


def test_a_reused_mutation_id_sent_again_is_replayed_and_a_seq_twice_in_a_batch_too():
    store = MemoryStore()
    first = mutation(1)
    apply_push(store, "d", [first], handlers(store))
    reused = mutation(2, mutation_id=first.mutation_id)
    apply_push(store, "d", [reused], handlers(store))
    again = apply_push(store, "d", [reused], handlers(store))
    assert again.results[0]["code"] == "sync.mutation_reused" and again.results[0]["replayed"]
    twice = mutation(3, payload={"text": "c"})
    response = apply_push(store, "d", [twice, twice], handlers(store))
    assert [r["replayed"] for r in response.results] == [False, True]
    assert store.records.count("c") == 1


def test_stored_form_is_the_result_dict():
    """apply_push builds the stored form without a Result: both give the same dict."""
    assert stored_form("m", 3, "applied") == Result("m", 3, "applied").to_dict() == {
        "mutation_id": "m", "seq": 3, "status": "applied", "replayed": False}
    full = Result("m", 3, "flagged", code="c", detail="d", params={"p": 1}, flags=["c", "e"],
                  errors={"f": ["x"]})
    assert stored_form("m", 3, "flagged", False, "c", "d", {"p": 1}, ["c", "e"],
                       {"f": ["x"]}) == full.to_dict()
    assert set(full.to_dict()) == {"mutation_id", "seq", "status", "replayed", "code", "detail",
                                   "params", "flags", "errors"}


def test_the_store_records_the_answer_it_returns():
    """record() gets the stored form the answer carries (one dict per mutation)."""
    store = MemoryStore()
    kept = []
    store.record = lambda device_id, key, m, result: kept.append(result)
    response = apply_push(store, "d", [mutation(1), mutation(2, payload={"flag": True})],
                          handlers(store))
    assert kept == response.results
    assert all(a is b for a, b in zip(kept, response.results, strict=True))
