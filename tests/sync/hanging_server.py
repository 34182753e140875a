"""The app of the crash test: `flask --app tests.sync.hanging_server run`.

The production app with one change made here, in the test, not in the product: after
HANG_AFTER mutations of a push it writes the batch (flushed, not committed), touches
HANG_MARKER and waits to be killed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from server import create_app
from server.services.sync_store import SqlStore

HANG_AFTER = int(os.environ.get("HANG_AFTER", "0"))
HANG_MARKER = os.environ.get("HANG_MARKER", "")
_record = SqlStore.record


def _record_then_hang(self, device_id, ledger_key, mutation, result) -> None:
    _record(self, device_id, ledger_key, mutation, result)
    if HANG_AFTER and len(self.rows) >= HANG_AFTER:
        self.finish()
        if HANG_MARKER:
            Path(HANG_MARKER).write_text("hanging\n")
        threading.Event().wait()


SqlStore.record = _record_then_hang
app = create_app()
