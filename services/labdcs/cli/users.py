"""``labdcs users``: people, teams and tokens of the experiments manager, through its API (so the
manager, which owns its database, makes every change and audits it with the admin's name).

A generated password is never printed: it is written to ``--out FILE``, which only its owner can
read (mode 0600), for the person to be given. A token's secret goes to ``--out FILE`` too, or, without
it, to the terminal that made it: the one moment it exists in the clear.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

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


def _call(
    ctx: click.Context, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
) -> Any:
    from labdcs.experiments.manager_client import ManagerError, find_manager

    try:
        manager = find_manager(ctx.obj.get("url"), ctx.obj.get("token_file"))
        return manager.call(method, path, body, query)
    except ManagerError as exc:
        raise click.ClickException(str(exc)) from None


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
    rows = _call(ctx, "GET", "/api/users")
    for a in rows:
        state = "disabled" if a["disabled"] else "enabled"
        click.echo(
            f"{a['id']:<20} {a['kind']:<9} {a['role']:<8} {','.join(a['teams']):<24} {state}  {a['name']}"
        )


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
    body: dict[str, Any] = {
        "id": login,
        "role": role,
        "name": name,
        "email": email,
        "kind": "harvester" if harvester else "person",
    }
    if teams:
        body["teams"] = list(teams)
    created = _call(ctx, "POST", "/api/users", body)
    made = created["account"]
    click.echo(f"added {made['id']} ({made['role']}, teams {','.join(made['teams'])})")
    if created.get("password"):
        _secret(f"password of {login}", created["password"], out)


def _change(ctx: click.Context, login: str, **changes: Any) -> None:
    account = _call(ctx, "PATCH", f"/api/users/{login}", changes)
    state = "disabled" if account["disabled"] else "enabled"
    click.echo(f"{account['id']}: {account['role']}, teams {','.join(account['teams'])}, {state}")


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
    answer = _call(ctx, "POST", f"/api/users/{login}/password")
    _secret(f"new password of {login}", answer["password"], out)


@users.group()
def team() -> None:
    """Teams: who owns cells, protocols and experiments, and who else may read them."""


@team.command("list")
@click.pass_context
def team_list(ctx: click.Context) -> None:
    for t in _call(ctx, "GET", "/api/teams"):
        click.echo(f"{t['id']:<20} {t['visibility']:<5} {t['name']}")


@team.command("add")
@click.argument("team_id")
@click.option("--name", default="")
@click.option("--visibility", type=click.Choice(["lab", "team"]), default="lab", show_default=True,
              help="lab: everyone may read its data; team: only its members (and admins)")  # fmt: skip
@click.pass_context
def team_add(ctx: click.Context, team_id: str, name: str, visibility: str) -> None:
    made = _call(ctx, "POST", "/api/teams", {"id": team_id, "name": name, "visibility": visibility})
    click.echo(f"added team {made['id']} ({made['visibility']})")


@team.command("visibility")
@click.argument("team_id")
@click.argument("visibility", type=click.Choice(["lab", "team"]))
@click.pass_context
def team_visibility(ctx: click.Context, team_id: str, visibility: str) -> None:
    made = _call(ctx, "PATCH", f"/api/teams/{team_id}", {"visibility": visibility})
    click.echo(f"team {made['id']}: {made['visibility']}")


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
    made = _call(ctx, "POST", "/api/tokens", {"scopes": list(scopes), "name": name, "account": account})
    click.echo(
        f"token {made['token']['id']} of {made['token']['account']} ({','.join(made['token']['scopes'])})"
    )
    _secret("token", made["secret"], out)


@token.command("list")
@click.option("--account", default=None, help="Admins: this account's tokens (default: every account's)")
@click.pass_context
def token_list(ctx: click.Context, account: str | None) -> None:
    for t in _call(ctx, "GET", "/api/tokens", query={"account": account}):
        state = "revoked" if t["revoked"] else "active"
        click.echo(f"{t['id']}  {t['account']:<16} {','.join(t['scopes']):<20} {state:<8} {t['name']}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token at once."""
    done = _call(ctx, "DELETE", f"/api/tokens/{token_id}")
    click.echo(f"token {done['id']} of {done['account']} revoked")
