"""The push algorithm: per-device sequence numbers, a ledger, exactly-once effects.

Rules (DESIGN §4):
- a mutation whose (device, seq) is in the ledger returns its stored result, `replayed: true`,
  and changes nothing;
- the next expected seq (last + 1) is applied through its type's handler; a permanent
  rejection still consumes the seq and is kept in the ledger;
- a seq beyond last + 1 is a gap: it and everything after it in the batch are not applied, and
  the answer says `resend_from` (last + 1): the device re-sends from there what it still holds
  (after a server restore the ledger may have gone back; records already stored count as done);
- a mutation_id already used by another (device, seq) is rejected `sync.mutation_reused`;
- the same (device, seq) with a different mutation_id is rejected `sync.seq_reused` and
  recorded nowhere (the seq belongs to the first mutation).
The store makes each ledger row commit with its effect (one transaction per batch).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

APPLIED = "applied"
FLAGGED = "flagged"
REJECTED = "rejected"
GAP = "gap"

# Namespace for the ledger key of a mutation rejected as `sync.mutation_reused`: its own
# mutation_id is taken by the first use, but the seq must still be recorded. The key names the
# seq space (apply_push's `seq_space`: on the server, the user) with the device and the seq:
# two users of one phone each have a seq 2, and one key for both wedged the second's outbox.
_REUSED_NAMESPACE = uuid.UUID("6f1d3c1e-2b9a-4f57-9a51-8c1e7f0f5a01")


@dataclass(frozen=True)
class Mutation:
    """One change a device made, in the order the device made it."""

    mutation_id: str
    seq: int
    type: str
    entity_id: str | None
    client_time: datetime | None
    base: Mapping[str, Any]
    payload: Mapping[str, Any]


@dataclass
class Result:
    """What happened to one mutation; stored in the ledger and returned on every replay."""

    mutation_id: str
    seq: int
    status: str
    replayed: bool = False
    code: str | None = None
    # A more specific message than the code's own (a catalogue code) and its parameters: the
    # server renders the words at its edge, in the language of the request that reads them.
    detail: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    errors: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (optional members only when set)."""
        return stored_form(self.mutation_id, self.seq, self.status, self.replayed, self.code,
                           self.detail, self.params, self.flags, self.errors)


def stored_form(mutation_id: str, seq: int, status: str, replayed: bool = False,
                code: str | None = None, detail: str | None = None,
                params: Mapping[str, Any] | None = None, flags: Sequence[str] | None = None,
                errors: Any = None) -> dict[str, Any]:
    """Return a result's stored (and wire) form: the members of Result, optional ones only when
    set. apply_push builds it straight from the decision (no Result per mutation: a batch of 100
    built and copied 100 of them)."""
    body: dict[str, Any] = {"mutation_id": mutation_id, "seq": seq, "status": status,
                            "replayed": replayed}
    if code:
        body["code"] = code
    if detail:
        body["detail"] = detail
    if params:
        body["params"] = dict(params)
    if flags:
        body["flags"] = list(flags)
    if errors:
        body["errors"] = errors
    return body


def replayed(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a re-sent mutation gets back: its stored result (Result.to_dict()), `replayed: true`.

    Answered from the stored form as it is (no Result rebuilt): a replay changes nothing, and
    a re-sent batch is the most common push after a lost answer.
    """
    return {**stored, "replayed": True}


@dataclass
class Outcome:
    """A handler's success: applied, or applied with flags for review."""

    flags: list[str] = field(default_factory=list)
    detail: str | None = None  # a catalogue code saying more (e.g. sync.already_stored)


class Rejected(Exception):  # noqa: N818 (a result, not a failure of the server)
    """A permanent rejection of one mutation: the seq is consumed and the reason kept."""

    def __init__(self, code: str, detail: str | None = None, errors: Any = None,
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail  # a more specific catalogue code than `code`, or None
        self.errors = errors
        self.params = params or {}


Handler = Callable[[Mutation], Outcome]


class Store(Protocol):
    """What the push algorithm needs from storage."""

    def last_seq(self, device_id: str) -> int:
        """Return the highest seq recorded for the device (0 when none)."""

    def ledger_entries(self, device_id: str, seqs: Sequence[int]) -> dict[int, Mapping[str, Any]]:
        """Return the stored results (Result.to_dict()) of these seqs of the device, by seq.

        A stored result's `mutation_id` is the mutation's own id (also when its ledger key is
        another, see `sync.mutation_reused`): a re-sent mutation is matched against it.
        """

    def mutation_owners(self, mutation_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Return (device, seq) of each mutation_id already in the ledger."""

    def attempt(self) -> AbstractContextManager[None]:
        """Scope one mutation's writes: an exception inside undoes them (a savepoint).

        Entered once per mutation, never nested: a store may hand out the same object each time.
        """

    def record(self, device_id: str, ledger_key: str, mutation: Mutation,
               result: Mapping[str, Any]) -> None:
        """Add the ledger row of a newly decided mutation (committed with its effect).

        `result` is the stored form (stored_form) and also the dict the answer carries: a store
        keeps what it needs of it before the answer is rendered (its words are added in place),
        and does not change it.
        """


@dataclass
class PushResponse:
    """Per-mutation results in request order and the device's last recorded seq."""

    # Each result's wire form: Result.to_dict() (a replay: its stored form, `replayed: true`).
    results: list[dict[str, Any]]
    last_seq: int
    resend_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form (`resend_from` only when the batch hit a gap)."""
        body: dict[str, Any] = {"results": self.results, "last_seq": self.last_seq}
        if self.resend_from is not None:
            body["resend_from"] = self.resend_from
        return body

    def counts(self) -> dict[str, int]:
        """Count results by status (replays counted apart)."""
        tally: dict[str, int] = {}
        for result in self.results:
            key = "replayed" if result["replayed"] else result["status"]
            tally[key] = tally.get(key, 0) + 1
        return tally


def _decide(handler: Handler | None, store: Store, mutation: Mutation) -> dict[str, Any]:
    """Apply one mutation through its handler; return its stored form."""
    if handler is None:
        return stored_form(mutation.mutation_id, mutation.seq, REJECTED, code="sync.unknown_type",
                           params={"type": mutation.type})
    try:
        with store.attempt():
            outcome = handler(mutation)
    except Rejected as rejection:
        return stored_form(mutation.mutation_id, mutation.seq, REJECTED, code=rejection.code,
                           detail=rejection.detail, params=rejection.params,
                           errors=rejection.errors)
    if outcome.flags:
        return stored_form(mutation.mutation_id, mutation.seq, FLAGGED, code=outcome.flags[0],
                           flags=outcome.flags, detail=outcome.detail)
    return stored_form(mutation.mutation_id, mutation.seq, APPLIED, detail=outcome.detail)


def _in_order(mutations: Sequence[Mutation]) -> list[int]:
    """Return the batch's indexes in seq order (ties keep request order)."""
    # A device sends its outbox in seq order, but a proxy or a retry may shuffle a batch.
    seqs = [m.seq for m in mutations]
    return sorted(range(len(seqs)), key=seqs.__getitem__)


def apply_push(
    store: Store, device_id: str, mutations: Sequence[Mutation], handlers: Mapping[str, Handler],
    *, seq_space: str = "",
) -> PushResponse:
    """Apply a batch from one device exactly once per seq; return results in request order.

    seq_space: whose sequence the device's seqs are, when a device's seqs are counted per user
    (the server: the user's id); it makes the ledger key of a reused mutation unique.
    """
    last = store.last_seq(device_id)
    # The batch's own decisions join the stored results (a seq twice in one batch is a replay).
    seen = dict(store.ledger_entries(device_id, [m.seq for m in mutations if m.seq <= last]))
    # Only a mutation that may be applied needs its id's owner: a replay is answered from
    # the ledger (a re-sent batch costs one query less).
    owners = store.mutation_owners([m.mutation_id for m in mutations if m.seq > last])
    results: list[dict[str, Any] | None] = [None] * len(mutations)
    gap_from: int | None = None
    for index in _in_order(mutations):
        mutation = mutations[index]
        stored = seen.get(mutation.seq)
        if stored is not None:
            if stored["mutation_id"] != mutation.mutation_id:
                results[index] = stored_form(mutation.mutation_id, mutation.seq, REJECTED,
                                             code="sync.seq_reused")
            else:
                results[index] = replayed(stored)
            continue
        if gap_from is not None or mutation.seq != last + 1:
            gap_from = mutation.seq if gap_from is None else gap_from
            results[index] = stored_form(mutation.mutation_id, mutation.seq, GAP, code="sync.gap",
                                         params={"missing": last + 1})
            continue
        owner = owners.get(mutation.mutation_id)
        if owner is not None and owner != (device_id, mutation.seq):
            result = stored_form(mutation.mutation_id, mutation.seq, REJECTED,
                                 code="sync.mutation_reused")
            key = str(uuid.uuid5(_REUSED_NAMESPACE, f"{seq_space}:{device_id}:{mutation.seq}"))
        else:
            result = _decide(handlers.get(mutation.type), store, mutation)
            key = mutation.mutation_id
        store.record(device_id, key, mutation, result)
        owners.setdefault(mutation.mutation_id, (device_id, mutation.seq))
        # One dict for the ledger row, `seen` (a seq twice in the batch copies it) and the answer.
        seen[mutation.seq] = results[index] = result
        last = mutation.seq
    return PushResponse(results=[r for r in results if r is not None], last_seq=last,
                        resend_from=last + 1 if gap_from is not None else None)
