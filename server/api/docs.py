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
    headers: dict[str, dict] | None = None,
    errors: tuple[int, ...] = (),
) -> Callable:
    """Describe an endpoint: request, query and header parameters, responses, extra error statuses.

    `responses` maps a status to a schema (JSON), to a media type's name (a file), or to None
    (no body). `headers` maps a request header's name to {"schema": {...}, "required": bool};
    `errors` lists
    error statuses beyond the common ones (e.g. tus's 412 and 460).
    """

    def decorate(view: Callable) -> Callable:
        view.__api_doc__ = {
            "summary": summary, "body": body, "query": query, "responses": responses or {},
            "auth": auth, "tags": tags or [], "raw_body": raw_body,
            "headers": headers or {}, "errors": errors,
        }
        return view

    return decorate
