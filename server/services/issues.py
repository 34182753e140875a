"""What is wrong with a visit (R10): the one rule behind the coverage's "with issues" figure,
the visit list's `issues` filter and the issue chips of its rows."""

from __future__ import annotations

from typing import Any

from server.models import Visit
from server.services.beside_plan import check_status
from sync.judge import CHECKS, MISMATCH

__all__ = ["CLEAN_VERDICTS", "flag_code", "visit_issues"]

# The one verdict that means "nothing wrong"; anything else, a mismatched check or a flag is an
# issue.
CLEAN_VERDICTS = ("compliant",)


def flag_code(flag: Any) -> str:
    """Return the code of a flag (flags are strings or objects with a code)."""
    if isinstance(flag, dict):
        return str(flag.get("code") or flag.get("type") or flag.get("kind") or "")
    return str(flag)


def visit_issues(visit: Visit) -> list[str]:
    """What is wrong with a visit: mismatched checks, flags and a non-clean verdict.

    Returns codes "check:<name>", "flag:<code>" and "verdict:<verdict>"; empty when clean.
    """
    checks = visit.checks or {}
    issues = [f"check:{name}" for name in CHECKS if check_status(checks.get(name)) == MISMATCH]
    issues += [f"flag:{flag_code(f)}" for f in (visit.flags or [])]
    if visit.verdict not in CLEAN_VERDICTS:
        issues.append(f"verdict:{visit.verdict}")
    return issues
