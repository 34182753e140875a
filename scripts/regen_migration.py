"""Regenerate the single initial migration from the models (only before the first release).

Runs `flask db migrate` against an empty temporary SQLite database and replaces
migrations/versions/ with the result, named 0001_initial.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"


def main() -> int:
    for old in VERSIONS.glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        # A development tool: debug mode lets it run without a configured SECRET_KEY.
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/empty.sqlite3", FLASK_DEBUG="1")
        flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db"]
        subprocess.run([*flask, "migrate", "-m", "initial", "--rev-id", "0001"],
                       cwd=ROOT, env=env, check=True)
    (generated,) = VERSIONS.glob("0001_*.py")
    text = generated.read_text()
    # Stable, engine-neutral types only: the app's TypeDecorators resolve to their impls.
    text = re.sub(r"server\.models\.base\.UTCDateTime\(\)", "sa.DateTime()", text)
    text = text.replace("astext_type=Text()", "astext_type=sa.Text()")
    target = VERSIONS / "0001_initial.py"
    generated.rename(target)
    target.write_text(text)
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
