"""``labdcs users``: people, teams and tokens of the experiments manager, through its API and the
typed client generated from it (``labdcs.manager_api``), so the manager, which owns its database,
makes every change and audits it with the admin's name.

A generated password is never printed: it is written to ``--out FILE``, which only its owner can
read (mode 0600), for the person to be given. A token's secret goes to ``--out FILE`` too, or, without
it, to the terminal that made it: the one moment it exists in the clear.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from labdcs.experiments.manager_client import Manager

url_option = click.option(
    "--url", default=None, help="The manager (default: LABDCS_MANAGER_URL, the running stack)"
)
token_option = click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A token to log in with (default: LABDCS_TOKEN_FILE, LABDCS_TOKEN, else the admin of `labdcs init`)",
)
out_option = click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the generated password or token to this file (mode 0600); a password is never printed",
)


def _manager(ctx: click.Context) -> Manager:
    from labdcs.experiments.manager_client import ManagerError, find_manager

    try:
        return find_manager(ctx.obj.get("url"), ctx.obj.get("token_file"))
    except ManagerError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _answers() -> Iterator[None]:
    """A refusal or silence of the manager as a clear error (no traceback)."""
    from labdcs.experiments.manager_client import ManagerError

    try:
        yield
    except ManagerError as exc:
        raise click.ClickException(str(exc)) from None


def _text(value: object) -> str:
    """A field the manager may leave out (Unset) as text; an enum as its value."""
    from labdcs.manager_api.types import Unset

    if isinstance(value, Unset):
        return ""
    return str(getattr(value, "value", value))


def _need_out(out: Path | None) -> None:
    if out is None:
        raise click.UsageError("a password is never printed: give --out FILE (written with mode 0600)")


def _secret(what: str, value: str, out: Path | None) -> None:
    if out is None:  # a token: this terminal is its one chance to be seen
        click.echo(f"{what} (not stored in the clear; keep it now): {value}")
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.chmod(out, 0o600)
    click.echo(f"{what} written to {out} (mode 0600)")


@click.group()
@url_option
@token_option
@click.pass_context
def users(ctx: click.Context, url: str | None, token_file: Path | None) -> None:
    """People, teams and tokens of the experiments manager (admins; `token` for everyone)."""
    ctx.obj = {"url": url, "token_file": token_file}


@users.command("list")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """Every account: login, role, teams, state."""
    from labdcs.manager_api.api.people import list_users_api_users_get as list_users
    from labdcs.manager_api.models import AccountOut

    with _answers():
        rows = _manager(ctx).many(AccountOut, list_users.sync_detailed)
    for a in rows:
        state = "disabled" if a.disabled else "enabled"
        teams = ",".join(a.teams)
        click.echo(f"{a.id:<20} {a.kind.value:<9} {a.role.value:<8} {teams:<24} {state}  {a.name}")


@users.command("add")
@click.argument("login")
@click.option(
    "--role", type=click.Choice(["viewer", "operator", "admin"]), default="viewer", show_default=True
)
@click.option("--team", "teams", multiple=True, help="Team (repeatable; default: lab)")
@click.option("--name", default="", help="The person's full name")
@click.option("--email", default=None)
@click.option("--harvester", is_flag=True, help="A harvester account: no password, tokens only")
@out_option
@click.pass_context
def add(
    ctx: click.Context, login: str, role: str, teams: tuple[str, ...], name: str, email: str | None,
    harvester: bool, out: Path | None,
) -> None:  # fmt: skip
    """Add a person (a generated password, written to --out) or a harvester."""
    if not harvester:
        _need_out(out)
    from labdcs.manager_api.api.people import add_user_api_users_post as add_user
    from labdcs.manager_api.models import AccountCreated, AccountIn, Kind, Role
    from labdcs.manager_api.types import UNSET

    body = AccountIn(
        id=login,
        role=Role(role),
        name=name,
        email=email,
        kind=Kind.HARVESTER if harvester else Kind.PERSON,
        teams=list(teams) if teams else UNSET,
    )
    with _answers():
        created = _manager(ctx).one(AccountCreated, add_user.sync_detailed, body=body)
    made = created.account
    click.echo(f"added {made.id} ({made.role.value}, teams {','.join(made.teams)})")
    if created.password:
        _secret(f"password of {login}", created.password, out)


def _change(ctx: click.Context, login: str, **changes: object) -> None:
    from labdcs.manager_api.api.people import change_user_api_users_user_id_patch as change_user
    from labdcs.manager_api.models import AccountChange, AccountOut

    body = AccountChange.from_dict(changes)

    with _answers():
        account = _manager(ctx).one(AccountOut, change_user.sync_detailed, login, body=body)
    state = "disabled" if account.disabled else "enabled"
    click.echo(f"{account.id}: {account.role.value}, teams {','.join(account.teams)}, {state}")


@users.command()
@click.argument("login")
@click.pass_context
def disable(ctx: click.Context, login: str) -> None:
    """Stop an account's logins and tokens at once."""
    _change(ctx, login, disabled=True)


@users.command()
@click.argument("login")
@click.pass_context
def enable(ctx: click.Context, login: str) -> None:
    _change(ctx, login, disabled=False)


@users.command("role")
@click.argument("login")
@click.argument("role", type=click.Choice(["viewer", "operator", "admin"]))
@click.pass_context
def set_role(ctx: click.Context, login: str, role: str) -> None:
    """Set an account's role."""
    _change(ctx, login, role=role)


@users.command("teams")
@click.argument("login")
@click.argument("teams", nargs=-1, required=True)
@click.pass_context
def set_teams(ctx: click.Context, login: str, teams: tuple[str, ...]) -> None:
    """Set an account's teams (the first is where its new data goes)."""
    _change(ctx, login, teams=list(teams))


@users.command("reset-password")
@click.argument("login")
@out_option
@click.pass_context
def reset_password(ctx: click.Context, login: str, out: Path | None) -> None:
    """A new generated password for a person (written to --out)."""
    _need_out(out)
    from labdcs.manager_api.api.people import reset_password_api_users_user_id_password_post as reset
    from labdcs.manager_api.models import NewPassword

    with _answers():
        answer = _manager(ctx).one(NewPassword, reset.sync_detailed, login)
    _secret(f"new password of {login}", answer.password, out)


@users.group()
def team() -> None:
    """Teams: who owns cells, protocols and experiments, and who else may read them."""


@team.command("list")
@click.pass_context
def team_list(ctx: click.Context) -> None:
    from labdcs.manager_api.api.people import list_teams_api_teams_get as list_teams
    from labdcs.manager_api.models import Team

    with _answers():
        teams = _manager(ctx).many(Team, list_teams.sync_detailed)
    for t in teams:
        click.echo(f"{t.id:<20} {_text(t.visibility):<5} {_text(t.name)}")


@team.command("add")
@click.argument("team_id")
@click.option("--name", default="")
@click.option("--visibility", type=click.Choice(["lab", "team"]), default="lab", show_default=True,
              help="lab: everyone may read its data; team: only its members (and admins)")  # fmt: skip
@click.pass_context
def team_add(ctx: click.Context, team_id: str, name: str, visibility: str) -> None:
    from labdcs.manager_api.api.people import add_team_api_teams_post as add_team
    from labdcs.manager_api.models import Team, TeamIn, TeamInVisibility

    body = TeamIn(id=team_id, name=name, visibility=TeamInVisibility(visibility))
    with _answers():
        made = _manager(ctx).one(Team, add_team.sync_detailed, body=body)
    click.echo(f"added team {made.id} ({_text(made.visibility)})")


@team.command("visibility")
@click.argument("team_id")
@click.argument("visibility", type=click.Choice(["lab", "team"]))
@click.pass_context
def team_visibility(ctx: click.Context, team_id: str, visibility: str) -> None:
    from labdcs.manager_api.api.people import change_team_api_teams_team_id_patch as change_team
    from labdcs.manager_api.models import Team, TeamChange, TeamChangeVisibility

    body = TeamChange(visibility=TeamChangeVisibility(visibility))
    with _answers():
        made = _manager(ctx).one(Team, change_team.sync_detailed, team_id, body=body)
    click.echo(f"team {made.id}: {_text(made.visibility)}")


@users.group()
def token() -> None:
    """Tokens for scripts and harvesters (Authorization: Bearer)."""


@token.command("create")
@click.option(
    "--scope", "scopes", multiple=True, type=click.Choice(["read", "import", "control"]), required=True
)
@click.option("--name", default="", help="What the token is for")
@click.option("--account", default=None, help="Another account (admins: e.g. a harvester)")
@out_option
@click.pass_context
def token_create(
    ctx: click.Context, scopes: tuple[str, ...], name: str, account: str | None, out: Path | None
) -> None:
    """Make a token (its secret shown once)."""
    from labdcs.manager_api.api.people import create_token_api_tokens_post as create_token
    from labdcs.manager_api.models import Scope, TokenCreated, TokenIn

    body = TokenIn(scopes=[Scope(s) for s in scopes], name=name, account=account)
    with _answers():
        made = _manager(ctx).one(TokenCreated, create_token.sync_detailed, body=body)
    granted = ",".join(s.value for s in made.token.scopes)
    click.echo(f"token {made.token.id} of {made.token.account} ({granted})")
    _secret("token", made.secret, out)


@token.command("list")
@click.option("--account", default=None, help="Admins: this account's tokens (default: every account's)")
@click.pass_context
def token_list(ctx: click.Context, account: str | None) -> None:
    from labdcs.manager_api.api.people import list_tokens_api_tokens_get as list_tokens
    from labdcs.manager_api.models import TokenOut
    from labdcs.manager_api.types import UNSET

    with _answers():
        tokens = _manager(ctx).many(TokenOut, list_tokens.sync_detailed, account=account or UNSET)
    for t in tokens:
        state = "revoked" if t.revoked else "active"
        scopes = ",".join(s.value for s in t.scopes)
        click.echo(f"{t.id}  {t.account:<16} {scopes:<20} {state:<8} {t.name}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token at once."""
    from labdcs.manager_api.api.people import revoke_token_api_tokens_token_id_delete as revoke
    from labdcs.manager_api.models import TokenOut

    with _answers():
        done = _manager(ctx).one(TokenOut, revoke.sync_detailed, token_id)
    click.echo(f"token {done.id} of {done.account} revoked")
