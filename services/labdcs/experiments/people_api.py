"""The REST API of people, teams and tokens (``/api/me``, ``/api/users``, ``/api/teams``,
``/api/tokens``): admins manage accounts and teams; everyone manages their own tokens and password.
Generated passwords and token secrets are in the answer once and stored only hashed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from labdcs.experiments.access import directory, principal, require_admin
from labdcs.experiments.accounts import (
    Account,
    AccountOut,
    Kind,
    Name,
    Role,
    Scope,
    Team,
    TokenOut,
    new_password,
)
from labdcs.experiments.api import ERRORS, ErrorBody
from labdcs.experiments.store import StoreError

Password = Annotated[str, Field(min_length=12, max_length=200)]

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody, "description": "The login's role, team or token scopes do not allow it"},
}


class Me(BaseModel):
    account: AccountOut
    scopes: list[Scope] = Field(description="What this login may do (a token's scopes)")
    token: str | None = Field(description="The token this request came with, if any")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current: str = Field(max_length=200)
    new: Password


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Name = Field(description="The login name (lower case)")
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=200)
    role: Role = Role.VIEWER
    kind: Kind = Kind.PERSON
    teams: list[Name] = Field(default_factory=lambda: ["lab"], min_length=1, max_length=50)
    password: Password | None = Field(default=None, description="Default: generated, in the answer once")


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    teams: list[Name] | None = Field(default=None, min_length=1, max_length=50)
    disabled: bool | None = None


class AccountCreated(BaseModel):
    account: AccountOut
    password: str | None = Field(description="The password to hand over (generated ones only), shown once")


class NewPassword(BaseModel):
    password: str = Field(description="The generated password, shown once")


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Name
    name: str = Field(default="", max_length=200)
    visibility: Literal["lab", "team"] = "lab"


class TeamChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Literal["lab", "team"]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, description="What the token is for")
    scopes: list[Scope] = Field(min_length=1, max_length=3)
    account: Name | None = Field(default=None, description="Another account (admins: e.g. a harvester)")


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="Authorization: Bearer <secret>; shown once, stored only hashed")


def router() -> APIRouter:
    api = APIRouter(prefix="/api", responses=RESPONSES, tags=["people"])

    @api.get("/me", response_model=Me)
    def me(request: Request) -> Me:
        """Who this request is, and what it may do."""
        who = principal(request)
        account = directory(request).account(who.account)
        return Me(account=account.public(), scopes=sorted(who.scopes), token=who.token)

    @api.post("/me/password", status_code=204)
    def change_own_password(request: Request, body: PasswordChange) -> None:
        """Change one's own password (the current one is asked again)."""
        who = principal(request)
        found, _ = directory(request).verify_password(who.account, body.current)
        if found is None:
            raise HTTPException(403, "the current password is not right")
        directory(request).set_password(who.account, body.new, by=who.account)

    @api.get("/users", response_model=list[AccountOut])
    def list_users(request: Request) -> list[AccountOut]:
        require_admin(request)
        return [a.public() for a in directory(request).accounts()]

    @api.post("/users", response_model=AccountCreated, status_code=201)
    def add_user(request: Request, body: AccountIn) -> AccountCreated:
        """A new person or harvester; a person without a password given gets a generated one."""
        who = require_admin(request)
        password = body.password
        generated = password is None and body.kind is Kind.PERSON
        if generated:
            password = new_password()
        if body.kind is Kind.HARVESTER and password is not None:
            raise StoreError("a harvester has no password: it uses tokens")
        fields = body.model_dump(exclude={"password"})
        account = directory(request).add_account(Account(**fields), password, by=who.account)
        return AccountCreated(account=account.public(), password=password if generated else None)

    @api.get("/users/{user_id}", response_model=AccountOut)
    def get_user(request: Request, user_id: str) -> AccountOut:
        require_admin(request)
        return directory(request).account(user_id).public()

    @api.patch("/users/{user_id}", response_model=AccountOut)
    def change_user(request: Request, user_id: str, body: AccountChange) -> AccountOut:
        """Role, teams, name, email; ``disabled: true`` stops its logins and tokens at once."""
        who = require_admin(request)
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise StoreError("nothing to change: send role, teams, name, email or disabled")
        return directory(request).change_account(user_id, by=who.account, **changes).public()

    @api.post("/users/{user_id}/password", response_model=NewPassword)
    def reset_password(request: Request, user_id: str) -> NewPassword:
        """A new generated password for the account, in the answer once."""
        who = require_admin(request)
        password = new_password()
        directory(request).set_password(user_id, password, by=who.account)
        return NewPassword(password=password)

    @api.get("/teams", response_model=list[Team])
    def list_teams(request: Request) -> list[Team]:
        return directory(request).teams()

    @api.post("/teams", response_model=Team, status_code=201)
    def add_team(request: Request, body: TeamIn) -> Team:
        who = require_admin(request)
        return directory(request).add_team(Team(**body.model_dump()), by=who.account)

    @api.patch("/teams/{team_id}", response_model=Team)
    def change_team(request: Request, team_id: str, body: TeamChange) -> Team:
        """Who may read the team's data: ``lab`` (everyone) or ``team`` (its members and admins)."""
        who = require_admin(request)
        return directory(request).set_team_visibility(team_id, body.visibility, by=who.account)

    @api.get("/tokens", response_model=list[TokenOut])
    def list_tokens(
        request: Request, account: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[TokenOut]:
        """One's own tokens (admins: any account's, or all with ``account`` unset)."""
        who = principal(request)
        if not who.is_admin:
            account = who.account
        return [t.public() for t in directory(request).tokens(account)]

    @api.post("/tokens", response_model=TokenCreated, status_code=201)
    def create_token(request: Request, body: TokenIn) -> TokenCreated:
        """A token for scripts (or, by an admin, for a harvester account); the secret is shown once.
        A token cannot make a token with more scopes than its own."""
        who = principal(request)
        account = body.account or who.account
        if account != who.account and not who.is_admin:
            raise HTTPException(403, f"user {who.account} may only make tokens for itself")
        if who.token is not None and not set(body.scopes) <= who.scopes:
            raise HTTPException(403, "a token cannot make a token with more scopes than its own")
        token, secret = directory(request).create_token(account, body.scopes, body.name, by=who.account)
        return TokenCreated(token=token.public(), secret=secret)

    @api.delete("/tokens/{token_id}", response_model=TokenOut)
    def revoke_token(request: Request, token_id: str) -> TokenOut:
        """Revoke a token at once (one's own; admins: any)."""
        who = principal(request)
        tokens = {t.id: t for t in directory(request).tokens(None if who.is_admin else who.account)}
        if token_id not in tokens:
            raise HTTPException(404, f"no token '{token_id}'")
        return directory(request).revoke_token(token_id, by=who.account).public()

    return api
