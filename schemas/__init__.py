"""Marshmallow schemas: the wire contract, and the source of the OpenAPI document."""
