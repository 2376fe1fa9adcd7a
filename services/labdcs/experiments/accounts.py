"""People, teams and tokens of the experiments manager, kept in its database.

An **account** is a person (logs in with a password, argon2-hashed) or a harvester (only tokens).
Its **role** says what it may do anywhere (admin: accounts, stations, everything; operator: run
experiments and change lab data; viewer: read); its **teams** say whose data it writes. A **team**
owns cells, protocols and experiments and says who else may read them (``visibility``: ``lab``, the
default, or ``team``). A **token** (``labdcs_<id>_<secret>``) stands for its account with fewer
rights (``scopes``: read, import, control); only its sha256 is stored (the secret is random, so a
fast hash is enough), it is shown once and can be revoked.

This directory is meant to be the one identity source of the stack: a later round lets Node-RED and
Grafana ask it (``verify_password``/``verify_token`` behind an HTTP endpoint, or an OIDC provider
backed by it) instead of keeping their own generated logins.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from labdcs.experiments.documents import DEFAULT_TEAM, now_ms
from labdcs.experiments.store import Conflict, NotFound, Store, StoreError

log = logging.getLogger(__name__)

TOKEN_PREFIX = "labdcs_"
#: argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~30 ms a check here, so a
#: login costs a guesser that much while the 2-core lab PC stays responsive. A hash records its own
#: parameters: stronger ones later still verify the old hashes.
ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_LANES = 2, 19_456, 1
#: A checked password is remembered (keyed by an HMAC, never the password) for this long, so that
#: HTTP Basic's login on every request does not cost an argon2 verification each time.
VERIFIED_TTL_S = 900.0

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.@-]*$")]


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Scope(StrEnum):
    READ = "read"
    IMPORT = "import"
    CONTROL = "control"


class Kind(StrEnum):
    PERSON = "person"
    HARVESTER = "harvester"


#: The scopes each role can hand to a token (and has itself when logged in with a password).
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.OPERATOR: frozenset(Scope),
    Role.VIEWER: frozenset({Scope.READ}),
}
HARVESTER_SCOPES = frozenset({Scope.READ, Scope.IMPORT})

_ID = Field(validation_alias=AliasChoices("id", "_id"))


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def to_mongo(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["_id"] = data.pop("id")
        return data


class Team(_Stored):
    id: Name = _ID
    name: str = Field(default="", max_length=200)
    visibility: Literal["lab", "team"] = Field(
        default="lab", description="lab: everyone may read the team's data; team: only its members"
    )
    created: int = Field(default_factory=now_ms)


class Account(_Stored):
    id: Name = _ID
    name: str = Field(default="", max_length=200, description="The person's full name")
    email: str | None = Field(default=None, max_length=200)
    role: Role = Role.VIEWER
    kind: Kind = Kind.PERSON
    teams: list[Name] = Field(default_factory=lambda: [DEFAULT_TEAM])
    disabled: bool = False
    password_hash: str | None = None
    created: int = Field(default_factory=now_ms)
    changed: int = Field(default_factory=now_ms)

    def public(self) -> AccountOut:
        return AccountOut.model_validate(self.model_dump(exclude={"password_hash"}))


class AccountOut(BaseModel):
    """An account as the API shows it (never its password hash)."""

    id: str
    name: str
    email: str | None
    role: Role
    kind: Kind
    teams: list[str]
    disabled: bool
    created: int
    changed: int


class Token(_Stored):
    id: str = _ID
    account: str
    name: str = Field(default="", max_length=200)
    scopes: list[Scope]
    hash: str = Field(description="sha256 of the secret part")
    created: int = Field(default_factory=now_ms)
    last_used: int | None = None
    revoked: int | None = None

    def public(self) -> TokenOut:
        return TokenOut.model_validate(self.model_dump(exclude={"hash"}))


class TokenOut(BaseModel):
    id: str
    account: str
    name: str
    scopes: list[Scope]
    created: int
    last_used: int | None
    revoked: int | None


class Principal(BaseModel):
    """Who is asking: the account, and what this request may do (a token's scopes narrow the role's)."""

    model_config = ConfigDict(frozen=True)

    account: str
    role: Role
    kind: Kind = Kind.PERSON
    teams: tuple[str, ...] = (DEFAULT_TEAM,)
    scopes: frozenset[Scope] = frozenset(Scope)
    token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def team(self) -> str:
        """The team new documents belong to unless the request names one."""
        return self.teams[0] if self.teams else DEFAULT_TEAM


def allowed_scopes(account: Account) -> frozenset[Scope]:
    return HARVESTER_SCOPES if account.kind is Kind.HARVESTER else ROLE_SCOPES[account.role]


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class _Collection:
    """A collection whose every call holds the store's lock (montydb wants one writer at a time)."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.store.col(self.name), method)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.store._guard():
                return target(*args, **kwargs)

        return call

    def all(self, query: dict[str, Any], sort: list[tuple[str, int]]) -> list[dict[str, Any]]:
        with self.store._guard():
            return list(self.store.col(self.name).find(query).sort(sort))


class Directory:
    """Accounts, teams and tokens in the store's database (collections accounts, teams, tokens)."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher(ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_LANES)
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))  # unknown users cost the same
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def _c(self, name: str) -> _Collection:
        return _Collection(self.store, name)

    def prepare(self) -> None:
        self._c("tokens").create_index([("account", 1)])
        if self._c("teams").find_one({"_id": DEFAULT_TEAM}) is None:
            self._c("teams").insert_one(Team(id=DEFAULT_TEAM, name="The whole lab").to_mongo())

    # --- reading ----------------------------------------------------------------------------------

    def account(self, account_id: str) -> Account:
        doc = self._c("accounts").find_one({"_id": account_id})
        if doc is None:
            raise NotFound(f"no account '{account_id}'")
        return Account.model_validate(doc)

    def accounts(self) -> list[Account]:
        return [Account.model_validate(d) for d in self._c("accounts").all({}, [("_id", 1)])]

    def team(self, team_id: str) -> Team:
        doc = self._c("teams").find_one({"_id": team_id})
        if doc is None:
            raise NotFound(f"no team '{team_id}'")
        return Team.model_validate(doc)

    def teams(self) -> list[Team]:
        return [Team.model_validate(d) for d in self._c("teams").all({}, [("_id", 1)])]

    def tokens(self, account: str | None = None) -> list[Token]:
        query = {"account": account} if account else {}
        return [Token.model_validate(d) for d in self._c("tokens").all(query, [("created", -1)])]

    def has_admin(self) -> bool:
        return self._c("accounts").find_one({"role": Role.ADMIN.value, "disabled": False}) is not None

    # --- changing ---------------------------------------------------------------------------------

    def add_team(self, team: Team, by: str | None) -> Team:
        if self._c("teams").find_one({"_id": team.id}) is not None:
            raise Conflict(f"team '{team.id}' exists already")
        self._c("teams").insert_one(team.to_mongo())
        self.store.audit("team.add", f"team:{team.id}", by, detail=f"visibility {team.visibility}")
        return team

    def set_team_visibility(self, team_id: str, visibility: Literal["lab", "team"], by: str | None) -> Team:
        self.team(team_id)
        self._c("teams").update_one({"_id": team_id}, {"$set": {"visibility": visibility}})
        self.store.audit("team.visibility", f"team:{team_id}", by, detail=visibility)
        return self.team(team_id)

    def _check_teams(self, teams: Iterable[str]) -> None:
        known = {t.id for t in self.teams()}
        unknown = sorted(set(teams) - known)
        if unknown:
            raise StoreError(f"no team {', '.join(repr(t) for t in unknown)}: create it first")

    def add_account(self, account: Account, password: str | None, by: str | None) -> Account:
        """Store a new account; ``password`` None for harvesters (tokens only)."""
        self._check_teams(account.teams)
        if self._c("accounts").find_one({"_id": account.id}) is not None:
            raise Conflict(f"account '{account.id}' exists already")
        if password is not None:
            account = account.model_copy(update={"password_hash": self.hasher.hash(password)})
        self._c("accounts").insert_one(account.to_mongo())
        detail = f"{account.kind.value}, role {account.role.value}, teams {','.join(account.teams)}"
        self.store.audit("user.add", f"user:{account.id}", by, detail=detail)
        return account

    def change_account(self, account_id: str, by: str | None, **changes: Any) -> Account:
        """Role, teams, name, email or disabled; every change audited with what changed."""
        account = self.account(account_id)
        if "teams" in changes:
            self._check_teams(changes["teams"])
        if (
            account.role is Role.ADMIN
            and not account.disabled
            and (changes.get("disabled") or changes.get("role", Role.ADMIN) is not Role.ADMIN)
        ):
            others = self._c("accounts").count_documents(
                {"role": Role.ADMIN.value, "disabled": False, "_id": {"$ne": account_id}}
            )
            if not others:
                raise Conflict(f"'{account_id}' is the last enabled admin: make another admin first")
        values = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in changes.items()}
        self._c("accounts").update_one({"_id": account_id}, {"$set": {**values, "changed": now_ms()}})
        self._forget(account_id)
        for key, value in values.items():
            self.store.audit(f"user.{key}", f"user:{account_id}", by, detail=str(value))
        return self.account(account_id)

    def set_password(self, account_id: str, password: str, by: str | None) -> None:
        account = self.account(account_id)
        if account.kind is Kind.HARVESTER:
            raise StoreError(f"'{account_id}' is a harvester: it logs in with tokens only")
        self._c("accounts").update_one(
            {"_id": account_id}, {"$set": {"password_hash": self.hasher.hash(password), "changed": now_ms()}}
        )
        self._forget(account_id)
        self.store.audit("user.password", f"user:{account_id}", by)

    def create_token(
        self, account_id: str, scopes: Iterable[Scope], name: str, by: str | None
    ) -> tuple[Token, str]:
        """A new token and its secret text (returned once, never stored)."""
        account = self.account(account_id)
        wanted = frozenset(scopes)
        if not wanted:
            raise StoreError("a token needs at least one scope: read, import or control")
        excess = wanted - allowed_scopes(account)
        if excess:
            raise StoreError(
                f"account '{account_id}' ({account.role.value}) cannot hold scope "
                f"{', '.join(sorted(s.value for s in excess))}"
            )
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = Token(
            id=token_id, account=account_id, name=name, scopes=sorted(wanted), hash=_token_hash(secret)
        )
        self._c("tokens").insert_one(token.to_mongo())
        scope_text = ",".join(s.value for s in token.scopes)
        self.store.audit("token.create", f"user:{account_id}", by, detail=f"token {token_id} ({scope_text})")
        return token, f"{TOKEN_PREFIX}{token_id}_{secret}"

    def revoke_token(self, token_id: str, by: str | None) -> Token:
        doc = self._c("tokens").find_one({"_id": token_id})
        if doc is None:
            raise NotFound(f"no token '{token_id}'")
        token = Token.model_validate(doc)
        if token.revoked is None:
            self._c("tokens").update_one({"_id": token_id}, {"$set": {"revoked": now_ms()}})
            self.store.audit("token.revoke", f"user:{token.account}", by, detail=f"token {token_id}")
        return Token.model_validate(self._c("tokens").find_one({"_id": token_id}))

    # --- checking ---------------------------------------------------------------------------------

    def _forget(self, account_id: str) -> None:
        with self._lock:
            for key in [k for k, v in self._verified.items() if v[0] == account_id]:
                del self._verified[key]

    def verify_password(self, user: str, password: str) -> tuple[Principal | None, bool]:
        """(principal, fresh): None for a wrong password, an unknown or disabled account or a
        harvester; ``fresh`` when argon2 checked it now (not remembered), which the audit records as a
        login."""
        key = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        doc = self._c("accounts").find_one({"_id": user}) if len(user) <= 64 else None
        account = Account.model_validate(doc) if doc is not None else None
        with self._lock:
            remembered = self._verified.get(key)
        now = time.monotonic()
        if (
            account is not None and remembered is not None and remembered[2] > now
            and remembered[1] == account.password_hash and not account.disabled
        ):  # fmt: skip
            return _principal(account), False
        try:
            self.hasher.verify(
                account.password_hash if account and account.password_hash else self._dummy, password
            )
            matches = account is not None and account.password_hash is not None
        except (VerificationError, InvalidHashError):
            matches = False
        if account is None or not matches or account.disabled or account.kind is Kind.HARVESTER:
            return None, True
        assert account.password_hash is not None
        with self._lock:
            if len(self._verified) > 1000:
                self._verified.clear()
            self._verified[key] = (account.id, account.password_hash, now + VERIFIED_TTL_S)
        return _principal(account), True

    def verify_token(self, text: str) -> tuple[Principal | None, str]:
        """(principal, token id or what was sent): None for a malformed, unknown, revoked token or a
        disabled account."""
        if not text.startswith(TOKEN_PREFIX):
            return None, "?"
        token_id, _, secret = text[len(TOKEN_PREFIX) :].partition("_")
        doc = self._c("tokens").find_one({"_id": token_id}) if len(token_id) == 12 else None
        if doc is None:
            return None, token_id[:12]
        token = Token.model_validate(doc)
        if not hmac.compare_digest(token.hash, _token_hash(secret)) or token.revoked is not None:
            return None, token_id
        try:
            account = self.account(token.account)
        except NotFound:
            return None, token_id
        if account.disabled:
            return None, token_id
        if token.last_used is None or now_ms() - token.last_used > 60_000:
            self._c("tokens").update_one({"_id": token_id}, {"$set": {"last_used": now_ms()}})
        scopes = frozenset(token.scopes) & allowed_scopes(account)
        return _principal(account, scopes=scopes, token=token_id), token_id

    # --- the logins before accounts ----------------------------------------------------------------

    def migrate_logins(self, logins: list[tuple[str, str, Role]]) -> list[str]:
        """The shared logins of earlier versions (``secrets/experiments/admin|viewer``) become
        accounts the first time: the admin of ``labdcs init`` is the first admin. Existing accounts are
        left as they are (the database decides from then on). Returns the accounts created."""
        created = []
        for user, password, role in logins:
            if self._c("accounts").find_one({"_id": user}) is None:
                self.add_account(Account(id=user, role=role), password, by="labdcs init")
                created.append(user)
        return created


def _principal(
    account: Account, scopes: frozenset[Scope] | None = None, token: str | None = None
) -> Principal:
    return Principal(
        account=account.id,
        role=account.role,
        kind=account.kind,
        teams=tuple(account.teams),
        scopes=allowed_scopes(account) if scopes is None else scopes,
        token=token,
    )


def new_password() -> str:
    """A generated password handed to a person once (add, reset)."""
    return secrets.token_urlsafe(15)
