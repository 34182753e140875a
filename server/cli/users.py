"""`flask --app wsgi users …`: manage user accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from schemas.auth import PASSWORD
from server.errors import ApiError
from server.extensions import db
from server.models import User
from server.services.auth import (
    change_password,
    create_user,
    end_all_sessions,
    revoke_device_tokens,
    set_active,
    user_devices,
)

users_cli = AppGroup("users", help="Manage users.")



@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True,
              type=click.Choice(["city_admin", "county_admin", "inspector", "base_staff"]))
@click.option("--county", "county_name", default=None, help="County name (县市区)")
@click.option("--base", "base_name", default=None, help="Training base name (培训基地)")
@click.option("--display-name", default="")
def create_user_command(username, password, role, county_name, base_name, display_name):
    """Create a user. An inspector without --county is a city inspector (every county)."""

    try:
        user = create_user(username, password, role, county_name=county_name,
                           base_name=base_name, display_name=display_name)
        db.session.commit()
    except ApiError as error:
        db.session.rollback()
        click.echo(f"error: {error.message} {error.errors or ''}", err=True)
        sys.exit(2)
    click.echo(f"created {user.role} {user.username} ({user.id})")


def _user_or_exit(username: str):
    from sqlalchemy import select


    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        click.echo(f"error: no user {username}", err=True)
        sys.exit(2)
    return user


@users_cli.command("password")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (asked for when not given)")
def password_command(username, password):
    """Set a user's password; every page session and device token of the user ends."""
    from marshmallow import ValidationError


    try:
        PASSWORD(password)
    except ValidationError as error:
        click.echo(f"error: {error.messages[0]}", err=True)
        sys.exit(2)
    user = _user_or_exit(username)
    change_password(user, password)
    db.session.commit()
    click.echo(f"password changed for {username}; every session and token ended")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_command(username):
    """Deactivate a user: no login, and every session and token ends now."""

    set_active(_user_or_exit(username), False)
    db.session.commit()
    click.echo(f"deactivated {username}")


@users_cli.command("activate")
@click.argument("username")
def activate_command(username):
    """Let a deactivated user log in again (old sessions stay ended)."""

    set_active(_user_or_exit(username), True)
    db.session.commit()
    click.echo(f"activated {username}")


@users_cli.command("devices")
@click.argument("username")
def devices_command(username):
    """List a user's devices (tokens by device id) and page sessions."""

    listing = user_devices(_user_or_exit(username))
    for device in listing["devices"]:
        click.echo(f"device {device['device_id']}: {device['live_tokens']} live token(s), "
                   f"last login {device['last_login_at']:%Y-%m-%d %H:%M}Z")
    for row in listing["sessions"]:
        click.echo(f"session {row['id']}: {'live' if row['live'] else 'ended'}, "
                   f"since {row['created_at']:%Y-%m-%d %H:%M}Z, {row['user_agent'][:60]}")


@users_cli.command("revoke")
@click.argument("username")
@click.option("--device", "device_id", default=None, help="Only this device (default: everything)")
def revoke_command(username, device_id):
    """Revoke one device of a user, or end every session and token of the user."""

    user = _user_or_exit(username)
    count = (revoke_device_tokens(user, device_id) if device_id else end_all_sessions(user))
    db.session.commit()
    click.echo(f"revoked {count}")
