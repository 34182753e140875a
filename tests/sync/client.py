"""A small sync client for tests and the benchmark: builds mutations with seq and mutation_id,
seals visits, pushes an outbox, pulls every page.

Works over the Flask test client (FlaskTransport) or real HTTP (HttpTransport), so the same
scenario can run in-process or against a server process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sync.canonical import compute_seal

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Transport(Protocol):
    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict | None = None) -> tuple[int, Any]: ...


class FlaskTransport:
    """Calls the app in-process through its test client."""

    def __init__(self, client) -> None:
        self.client = client

    def request(self, method, path, *, json=None, params=None, headers=None):
        response = self.client.open(path, method=method, json=json, query_string=params,
                                    headers=headers or {})
        return response.status_code, response.get_json(silent=True)


class HttpTransport:
    """Calls a real server over HTTP (requests)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def request(self, method, path, *, json=None, params=None, headers=None):
        response = self.session.request(method, self.base_url + path, json=json, params=params,
                                        headers=headers or {}, timeout=self.timeout)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body


def utc_iso(value: datetime) -> str:
    """Write an aware time as ISO 8601 UTC with Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seal(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the payload with its seal (SHA-256 of the canonical JSON without `seal`)."""
    sealed = {k: v for k, v in payload.items() if k != "seal"}
    sealed["seal"] = compute_seal(sealed)
    return sealed


def session_start(day: date, start: time) -> datetime:
    """Return a session's local start as aware UTC."""
    return datetime.combine(day, start, SHANGHAI).astimezone(UTC)


def visit_payload(
    *,
    class_id: Any,
    session: Any,
    plan_version_id: Any,
    site: Any,
    started_at: datetime | None = None,
    headcount: int | None = 5,
    signins: list[str] | None = None,
    teacher_matches: bool | None = True,
    content_matches: bool | None = True,
    offset_m: float = 0.0,
    accuracy: float = 20.0,
    mocked: bool = False,
    photos: list[str] | None = None,
    signatures: list[str] | None = None,
    supersedes: Any = None,
    verdict: str = "compliant",
) -> dict[str, Any]:
    """Build a sealed visit.submit payload for a session (times inside its window by default)."""
    started = started_at or session_start(session.date, session.start_time) + timedelta(minutes=30)
    payload: dict[str, Any] = {
        "class_id": str(class_id), "session_id": str(session.id),
        "plan_version_id": str(plan_version_id),
        "started_at": utc_iso(started), "ended_at": utc_iso(started + timedelta(minutes=40)),
        # about 111 km per degree of latitude: offset_m north of the site
        "gps": {"lat": site.lat + offset_m / 111_000, "lon": site.lon, "accuracy": accuracy,
                "captured_at": utc_iso(started), "mocked": mocked},
        "observed": {"teacher_matches": teacher_matches, "content_matches": content_matches,
                     "headcount": headcount, "teacher_name": "张老师", "topic": "车削加工"},
        "signins": list(signins or []),
        "findings": [] if verdict == "compliant" else [{"code": "other", "text": "见照片"}],
        "verdict": verdict,
        "signatures": [{"role": "inspector", "name": "检查员",
                        "sha256": h} for h in signatures or []],
        "photos": [{"sha256": h, "caption": "教室"} for h in photos or []],
    }
    if supersedes is not None:
        payload["supersedes"] = str(supersedes)
    return seal(payload)


@dataclass
class SyncClient:
    """One device: an outbox of mutations with seq 1, 2, 3, ... and what the server answered."""

    transport: Transport
    device_id: str
    token: str = ""
    seq: int = 0
    outbox: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock_offset: timedelta = timedelta(0)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def login(self, username: str, password: str) -> int:
        """Get a token for this device; return the HTTP status."""
        status, body = self.transport.request("POST", "/api/v1/auth/token", json={
            "username": username, "password": password, "device_id": self.device_id})
        if status == 200:
            self.token = body["token"]
        return status

    def add(self, mutation_type: str, payload: dict[str, Any], *, entity_id: Any = None,
            plan_version_id: Any = None) -> dict[str, Any]:
        """Queue a mutation with the next seq."""
        self.seq += 1
        mutation = {
            "mutation_id": str(uuid.uuid4()), "seq": self.seq, "type": mutation_type,
            "entity_id": str(entity_id or uuid.uuid4()), "payload": payload,
            "base": {"plan_version_id": str(plan_version_id) if plan_version_id else None},
        }
        self.outbox.append(mutation)
        return mutation

    def add_visit(self, payload: dict[str, Any], visit_id: Any = None) -> dict[str, Any]:
        """Queue a visit.submit (payload from visit_payload)."""
        return self.add("visit.submit", payload, entity_id=visit_id or uuid.uuid4(),
                        plan_version_id=payload["plan_version_id"])

    def add_signin(self, *, visit_id: Any, class_id: Any, trainee_id: Any, method: str = "manual",
                   at: datetime | None = None, signin_id: Any = None,
                   **extra: Any) -> dict[str, Any]:
        """Queue a signin.create."""
        payload = {"visit_id": str(visit_id), "class_id": str(class_id),
                   "trainee_id": str(trainee_id) if trainee_id else None, "method": method,
                   "at": utc_iso(at or datetime.now(UTC)), **extra}
        return self.add("signin.create", payload, entity_id=signin_id or uuid.uuid4())

    def send(self, mutations: list[dict[str, Any]]) -> tuple[int, Any]:
        """POST a batch as is (client_time set now, as the device would at send time)."""
        now = datetime.now(UTC) + self.clock_offset
        batch = [{**m, "client_time": utc_iso(now)} for m in mutations]
        return self.transport.request("POST", "/api/v1/sync/push", headers=self.headers,
                                      json={"device_id": self.device_id, "mutations": batch})

    def acknowledge(self, body: dict[str, Any]) -> None:
        """Drop from the outbox what the server decided (applied, flagged or rejected)."""
        decided = {r["mutation_id"]: r for r in body["results"] if r["status"] != "gap"}
        self.results.update(decided)
        self.outbox = [m for m in self.outbox if m["mutation_id"] not in decided]

    def push(self, limit: int = 100) -> tuple[int, Any]:
        """Send the outbox's first `limit` mutations and acknowledge the answer."""
        status, body = self.send(self.outbox[:limit])
        if status == 200:
            self.acknowledge(body)
        return status, body

    def pull(self, cursor: str | None = None, limit: int = 500) -> tuple[int, Any]:
        """GET one pull page."""
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self.transport.request("GET", "/api/v1/sync/pull", headers=self.headers,
                                      params=params)

    def pull_all(self, cursor: str | None = None, limit: int = 500) -> tuple[list[dict], str]:
        """Pull every page from a cursor; return the changes and the last cursor."""
        changes: list[dict] = []
        while True:
            status, body = self.pull(cursor, limit)
            assert status == 200, body
            changes.extend(body["changes"])
            cursor = body["cursor"]
            if not body["has_more"]:
                return changes, cursor
