"""Attach OpenAPI facts to view functions; server/api/openapi.py builds the document from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def api_doc(
    summary: str,
    *,
    body: Any = None,
    query: Any = None,
    responses: dict[int, Any] | None = None,
    auth: bool = True,
    tags: list[str] | None = None,
    raw_body: str | None = None,
) -> Callable:
    """Describe an endpoint: its request schema, query schema and response schemas by status."""

    def decorate(view: Callable) -> Callable:
        view.__api_doc__ = {
            "summary": summary, "body": body, "query": query, "responses": responses or {},
            "auth": auth, "tags": tags or [], "raw_body": raw_body,
        }
        return view

    return decorate
