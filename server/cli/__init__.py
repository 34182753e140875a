"""Admin commands: `flask --app wsgi <group> <command>`, one module per group.

The groups are listed here by name, in the order `flask --help` shows them; nothing registers
itself.
"""

from __future__ import annotations

from flask import Flask

from server.cli.assignments import assignments_cli
from server.cli.badges import badges_cli
from server.cli.demo import demo_cli
from server.cli.draw import draw_cli
from server.cli.export import archive_cli, assessment_cli, export_cli
from server.cli.media import media_cli
from server.cli.ops import backup_command, purge_command, restore_command
from server.cli.roster import roster_cli
from server.cli.users import users_cli
from server.cli.verify import verify_command

COMMANDS = [
    users_cli,
    demo_cli,
    verify_command,
    roster_cli,
    media_cli,
    draw_cli,
    export_cli,
    archive_cli,
    assessment_cli,
    badges_cli,
    assignments_cli,
    backup_command,
    restore_command,
    purge_command,
]


def register_cli(app: Flask) -> None:
    """Add every command group to the app's CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)
