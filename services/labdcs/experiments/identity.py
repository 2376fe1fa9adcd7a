"""The manager as the stack's identity source: ``GET /auth/check`` answers who a login is, for
Node-RED (its dashboard and editor logins) and the gateway's ``auth_request`` in front of Grafana.

The login middleware has already checked the password or token (and throttled guessing) when a
request gets here, so this route only tells who it was: in the body for Node-RED, and in headers
for nginx, which can copy response headers of its sub-request (``auth_request_set``) but cannot read
a body. Grafana's roles come from ours (admin → Admin, operator → Editor, viewer → Viewer).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from labdcs.experiments.access import directory, principal
from labdcs.experiments.accounts import Kind, Role

PATH = "/auth/check"
#: Our role → Grafana's organisation role (auth proxy header ``X-WEBAUTH-ROLE``).
GRAFANA_ROLES: dict[Role, str] = {Role.ADMIN: "Admin", Role.OPERATOR: "Editor", Role.VIEWER: "Viewer"}


class Identity(BaseModel):
    """Who logged in, as the other UIs need it."""

    user: str = Field(description="The account id: the login name in every UI and audit")
    name: str = Field(description="The person's full name (may be empty)")
    email: str | None
    role: Role
    kind: Kind
    grafana_role: str = Field(description="The Grafana organisation role the role maps to")


def router() -> APIRouter:
    routes = APIRouter(tags=["identity"])

    @routes.get(PATH, response_model=Identity)
    def check(request: Request, response: Response) -> Identity:
        """Who this login is (200), for the other UIs of the stack; 401 without a valid login."""
        who = principal(request)
        account = directory(request).account(who.account)
        found = Identity(
            user=account.id,
            name=account.name,
            email=account.email,
            role=who.role,
            kind=who.kind,
            grafana_role=GRAFANA_ROLES[who.role],
        )
        response.headers["X-Labdcs-User"] = found.user
        response.headers["X-Labdcs-Role"] = found.role.value
        response.headers["X-Grafana-Role"] = found.grafana_role
        response.headers["Cache-Control"] = "no-store"
        return found

    return routes
