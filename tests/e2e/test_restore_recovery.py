"""After the server is restored from a backup, a phone that synced in between recovers: its
inspector logs in again (a restore ends every login), the pull answers sync.reset (new epoch),
the phone finds the server's ledger behind what it holds, re-sends its kept evidence and photo,
and the server stores each record once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import ROOT, wait_for_sw_control
from tests.e2e.field_app import (
    fill_visit,
    login,
    login_as,
    make_photo,
    seal,
    server_visits,
    start_visit,
    wait_synced,
)

pytestmark = pytest.mark.e2e


def flask(server, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                   env=server.env,
                   check=True, capture_output=True)


def server_state(server) -> tuple[list, list, list]:
    visits = [row[0] for row in server.sql("SELECT id FROM visit")]
    signins = [row[0] for row in server.sql("SELECT id FROM sign_in")]
    media = [row[0] for row in server.sql("SELECT sha256 FROM media")]
    return sorted(visits), sorted(signins), sorted(media)


def test_a_phone_that_synced_after_the_backup_recovers_with_nothing_lost(live_server, page,
                                                                         tmp_path):
    login(page, live_server)
    wait_for_sw_control(page)
    flask(live_server, "backup", str(tmp_path / "backup"))

    start_visit(page)
    fill_visit(page, make_photo(tmp_path / "photo.jpg"))
    seal(page)
    wait_synced(page)
    before = server_state(live_server)
    assert len(before[0]) == 1 and len(before[1]) == 5 and before[2]

    live_server.kill()
    flask(live_server, "restore", str(tmp_path / "backup"))
    live_server.start()
    assert server_state(live_server) == ([], [], [])

    # The restore ended every login (a token revoked after the backup must not come back):
    # the phone's next sync is refused, it asks its inspector to log in again and keeps what
    # it holds.
    page.get_by_test_id("sync-now").click()
    page.get_by_test_id("login-username").wait_for(timeout=30000)
    login_as(page, live_server, "inspector_a")
    # It syncs again on its own schedule; press 同步 until the server holds it all.
    deadline = time.monotonic() + 60
    while server_state(live_server) != before and time.monotonic() < deadline:
        page.get_by_test_id("sync-now").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=sync-pending]')?.textContent === '0'",
            timeout=30000)
        time.sleep(0.5)  # polling the server's database: there is no event to wait on
    assert server_state(live_server) == before
    visit = server_visits(live_server)[0]
    assert visit["seal"] == visit["payload"]["seal"]
    rows = live_server.sql("SELECT seq, status FROM sync_ledger ORDER BY seq")
    assert [status for _, status in rows if status == "rejected"] == []
