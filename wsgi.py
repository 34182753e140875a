"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi ...`."""

import gc

from server import create_app

app = create_app()
# What create_app built (modules, mappers, schemas, compiled SQL) lives as long as the process:
# frozen, the collector's full passes stop walking it (about 12 % of a push batch's time).
gc.freeze()
