"""A Hypothesis state machine over push, dropped requests and responses, server crashes
(rollback without commit), plan changes and pull. Invariants: no mutation is applied twice;
after quiescence every mutation is applied or rejected exactly once and the client's view of
its mutations and of the pulled plans equals the server's.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from schemas.sync import PushRequestSchema
from server.extensions import db
from server.models import PlanVersion, SignIn, SyncLedger, User, Visit
from server.services import pull as pull_service
from server.services import sync_store
from tests import conftest
from tests.factories import build_world
from tests.sync.client import visit_payload
from tests.sync.fixtures import new_plan_version, phone, publish_world, today_session

DECIDED = ("applied", "flagged", "rejected")


def reset_database() -> None:
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        conftest._reset_pg_schema()
    else:
        db.drop_all()
        db.create_all()


def test_sync_state_machine(app, client):
    class SyncMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            reset_database()
            self.world = build_world()
            publish_world(self.world)
            self.class_id = self.world.classes["a"].id
            self.lineage = today_session(self.world).lineage_id
            self.roster = [t.id for t in self.world.trainees if t.name.startswith("a")]
            self.device = phone(client, device_id=f"phone-{uuid.uuid4()}")
            self.created: dict[str, dict] = {}
            self.view: dict[tuple[str, str], dict] = {}
            self.cursor: str | None = None
            self.pull()

        # --- the phone makes records -------------------------------------------------------
        @rule(which=st.integers(0, 4), known=st.booleans())
        def sign_in(self, which, known):
            trainee = self.roster[which] if known else uuid.uuid4()
            mutation = self.device.add_signin(visit_id=uuid.uuid4(), class_id=self.class_id,
                                              trainee_id=trainee)
            self.created[mutation["mutation_id"]] = mutation

        @rule(tamper=st.booleans())
        def submit_visit(self, tamper):
            version_id, session = self.known_session()
            payload = visit_payload(class_id=self.class_id, session=session,
                                    plan_version_id=version_id, site=self.world.sites["a"],
                                    headcount=0)
            if tamper:
                payload["verdict"] = "issues"
            mutation = self.device.add_visit(payload)
            self.created[mutation["mutation_id"]] = mutation

        # --- the network and the server misbehave ------------------------------------------
        @rule(size=st.integers(1, 6))
        def push(self, size):
            status, _ = self.device.push(limit=size)
            assert status == 200

        @rule(size=st.integers(1, 6))
        def drop_request(self, size):
            # the request never reaches the server: nothing changes anywhere
            before = self.ledger_size()
            _ = self.device.outbox[:size]
            assert self.ledger_size() == before

        @rule(size=st.integers(1, 6))
        def drop_response(self, size):
            status, _ = self.device.send(self.device.outbox[:size])  # committed, answer lost
            assert status == 200

        @rule(size=st.integers(2, 6))
        def skip_one(self, size):
            # a proxy loses the first mutation of the batch: unless the server already has it
            # (an earlier answer was lost), what follows is a gap and is not applied
            if not self.device.outbox:
                return
            skipped = self.device.outbox[0]["mutation_id"]
            known = self.ledger_has(skipped)
            before = self.ledger_size()
            status, body = self.device.send(self.device.outbox[1:size])
            assert status == 200
            if not known:
                assert all(r["status"] == "gap" for r in body["results"])
                assert self.ledger_size() == before

        @rule(size=st.integers(1, 6))
        def crash(self, size):
            # the server dies before its commit: roll back, nothing may remain
            before = self.ledger_size()
            batch = PushRequestSchema().load({"device_id": self.device.device_id,
                                              "mutations": self.device.outbox[:size]})
            user = db.session.get(User, self.world.users["inspector_a"].id)
            sync_store.push(user, self.device.device_id, batch["mutations"], commit=False)
            db.session.rollback()
            assert self.ledger_size() == before

        @rule()
        def plan_change(self):
            current = db.session.scalars(
                select(PlanVersion).where(PlanVersion.plan_id == self.world.versions["a"].plan_id)
                .order_by(PlanVersion.number.desc())).first()
            new_plan_version(current)

        @rule()
        def pull(self):
            changes, self.cursor = self.device.pull_all(self.cursor, limit=3)
            for change in changes:
                key = (change["type"], change["id"])
                if change["op"] == "delete":
                    self.view.pop(key, None)
                else:
                    self.view[key] = change["data"]

        # --- what must always hold ---------------------------------------------------------
        @invariant()
        def nothing_applied_twice(self):
            db.session.expire_all()
            ledger = db.session.scalars(select(SyncLedger).where(
                SyncLedger.device_id == self.device.device_id)).all()
            seqs = sorted(row.seq for row in ledger)
            assert seqs == list(range(1, len(seqs) + 1))  # contiguous: no gap was ever applied
            applied = {str(row.entity_id) for row in ledger if row.status in ("applied", "flagged")}
            signins = {str(i) for i in db.session.scalars(select(SignIn.id))}
            visits = {str(i) for i in db.session.scalars(select(Visit.id))}
            assert len(signins) + len(visits) == len(applied)
            assert signins | visits == applied

        def teardown(self):
            # quiescence: the network heals and the phone drains its outbox
            for _ in range(len(self.created) + 1):
                if not self.device.outbox:
                    break
                assert self.device.push(limit=6)[0] == 200
            assert self.device.outbox == []
            db.session.expire_all()
            ledger = {str(row.result["mutation_id"]): row for row in db.session.scalars(
                select(SyncLedger).where(SyncLedger.device_id == self.device.device_id))}
            assert set(ledger) == set(self.created)  # each exactly once (ledger key is unique)
            for mutation_id, row in ledger.items():
                assert row.status in DECIDED
                assert self.device.results[mutation_id]["status"] == row.status
                assert self.device.results[mutation_id].get("code") == row.result.get("code")
            self.pull()
            for (kind, entity_id), data in self.view.items():
                assert pull_service.SERIALISERS[kind](uuid.UUID(entity_id)) == data
            versions = {str(v) for v in db.session.scalars(select(PlanVersion.id).where(
                PlanVersion.plan_id == self.world.versions["a"].plan_id))}
            assert {k[1] for k in self.view if k[0] == "plan_version"} >= versions

        def ledger_has(self, mutation_id: str) -> bool:
            db.session.expire_all()
            return db.session.scalar(select(SyncLedger.seq).where(
                SyncLedger.mutation_id == uuid.UUID(mutation_id))) is not None

        def ledger_size(self) -> int:
            db.session.expire_all()
            return len(db.session.scalars(select(SyncLedger.seq)).all())

        def known_session(self):
            """The newest plan version the phone has pulled, and its session of today."""
            versions = [(data["version"], entity_id, data) for (kind, entity_id), data
                        in self.view.items() if kind == "plan_version"
                        and data["class_id"] == str(self.class_id)]
            _, version_id, data = max(versions)
            session = next(s for s in data["sessions"] if s["lineage_id"] == str(self.lineage))
            return version_id, _Session(session)

    run_state_machine_as_test(SyncMachine, settings=settings(
        max_examples=25, stateful_step_count=12, deadline=None,
        suppress_health_check=list(HealthCheck)))


class _Session:
    """A pulled session in the shape visit_payload expects."""

    def __init__(self, data: dict) -> None:
        from datetime import date, time

        self.id = data["id"]
        self.date = date.fromisoformat(data["date"])
        self.start_time = time.fromisoformat(data["start"])
