"""Who may read and change what: roles, token scopes and team ownership, in one place.

The login middleware decides what a request may do at all (a viewer only reads; a token only what
its scopes allow); the routes then ask here about the document at hand: a team's data is read by
its members, admins and, when the team's visibility is ``lab`` (the default), everyone; it is
changed by its members with role operator or admin, and by admins. A document someone may not read
is answered 404, as if it did not exist.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from labdcs.experiments.accounts import Directory, Principal, Role, Scope
from labdcs.experiments.store import NotFound

#: Writes a viewer may do with a password login: managing their own tokens and password.
SELF_SERVICE = ("/api/tokens", "/api/me/")


def required_scope(method: str, path: str) -> Scope:
    """The token scope a request needs: imports need ``import``, other writes ``control``."""
    if path == "/api/imports" and method == "POST":
        return Scope.IMPORT
    if method in ("GET", "HEAD", "OPTIONS"):
        return Scope.IMPORT if path.startswith("/api/imports/") else Scope.READ
    return Scope.CONTROL


def refusal(principal: Principal, method: str, path: str) -> str | None:
    """Why this principal may not make this request at all (None: it may, as far as the role and the
    token's scopes go)."""
    writes = method not in ("GET", "HEAD", "OPTIONS")
    if principal.token is None:  # a person with their password: the role decides
        if writes and principal.role is Role.VIEWER and not path.startswith(SELF_SERVICE):
            return f"user {principal.account} may only read"
        return None
    scope = required_scope(method, path)
    reads_imports = scope is Scope.IMPORT and not writes and Scope.READ in principal.scopes
    if scope not in principal.scopes and not reads_imports:
        return f"this token of {principal.account} lacks the scope '{scope.value}'"
    return None


def principal(request: Request) -> Principal:
    found: Principal | None = getattr(request.state, "principal", None)
    if found is None:  # the middleware always sets one; an app without it is a programming error
        raise HTTPException(401, "a login is needed")
    return found


def directory(request: Request) -> Directory:
    result: Directory = request.app.state.directory
    return result


def readable_teams(request: Request) -> list[str] | None:
    """The teams whose data this request may read; None: every team (admins)."""
    who = principal(request)
    if who.is_admin:
        return None
    return sorted({t.id for t in directory(request).teams() if t.visibility == "lab"} | set(who.teams))


def check_read(request: Request, team: str, what: str) -> None:
    """404 when the document's team is not readable (its existence is not told)."""
    teams = readable_teams(request)
    if teams is not None and team not in teams:
        raise NotFound(f"no {what}")


def check_write(request: Request, team: str, what: str) -> None:
    """403 unless the principal is an admin or an operator in the owning team."""
    check_read(request, team, what)
    who = principal(request)
    if who.is_admin or (who.role is Role.OPERATOR and team in who.teams):
        return
    raise HTTPException(403, f"user {who.account} may not change {what}: it belongs to team '{team}'")


def writing_team(request: Request, asked: str | None) -> str:
    """The team a new document will belong to: the one asked for (the principal must be in it, or
    an admin), else the principal's first team."""
    who = principal(request)
    team = asked or who.team
    directory(request).team(team)  # 404 for a team that does not exist
    if not who.is_admin and team not in who.teams:
        raise HTTPException(403, f"user {who.account} is not in team '{team}'")
    return team


def require_admin(request: Request) -> Principal:
    who = principal(request)
    if not who.is_admin:
        raise HTTPException(403, f"user {who.account} is not an admin")
    return who
