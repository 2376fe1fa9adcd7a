"""The provisioned flows file, ``nodered/flows.json``, and the sources its code comes from.

The code of the provisioned function nodes and of the control UI's ui-template lives in
``nodered/src/`` as ordinary files (reviewable, with syntax highlighting); a node whose ``info``
starts with ``Source: nodered/src/<file>`` gets that file's text (functions: ``func``, ui-template:
``format``) from ``labdcs gen nodered-flows``. A test checks the committed flows agree. Everything
else in the file, including flows engineers add in the editor, is left as it is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SOURCE_MARK = re.compile(r"^Source: nodered/src/(?P<file>[\w.-]+)")
CODE_FIELD = {"function": "func", "ui-template": "format"}

#: Property names that hold secrets in Node-RED's core nodes; they must never carry a value in
#: the flows file (Node-RED keeps credentials in <userDir>/flows_cred.json, encrypted).
SECRET_PROPERTIES = frozenset({"password", "passphrase", "token", "secret", "apikey", "api_key"})
_ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


class FlowsError(ValueError):
    """The flows file or a source it names cannot be used."""


def load(path: Path) -> list[dict[str, Any]]:
    try:
        flows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FlowsError(f"cannot read {path}: {exc}") from None
    if not isinstance(flows, list) or not all(isinstance(node, dict) for node in flows):
        raise FlowsError(f"{path} is not a Node-RED flows file (a JSON list of nodes)")
    return flows


def dump(flows: list[dict[str, Any]]) -> str:
    """The text Node-RED writes with ``flowFilePretty`` (4 spaces), so editor deploys diff cleanly."""
    return json.dumps(flows, indent=4, ensure_ascii=False) + "\n"


def sources(flows: list[dict[str, Any]]) -> dict[str, str]:
    """Node id -> source file name, for the nodes that take their code from ``nodered/src/``."""
    found = {}
    for node in flows:
        match = SOURCE_MARK.match(str(node.get("info", "")))
        if match:
            if node.get("type") not in CODE_FIELD:
                raise FlowsError(
                    f"node {node.get('id')} ({node.get('type')}) names a source but holds no code"
                )
            found[str(node["id"])] = match["file"]
    return found


def with_sources(flows: list[dict[str, Any]], src_dir: Path) -> list[dict[str, Any]]:
    """A copy of ``flows`` with every marked node's code replaced by its source file's text."""
    named = sources(flows)
    out = []
    for node in flows:
        file = named.get(str(node.get("id")))
        if file is not None:
            path = src_dir / file
            try:
                code = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise FlowsError(
                    f"node {node['id']} ({node.get('name')}): cannot read {path}: {exc}"
                ) from None
            node = {**node, CODE_FIELD[node["type"]]: code}
        out.append(node)
    return out


def generate(flows_path: Path, src_dir: Path) -> bool:
    """Rewrite ``flows_path`` with the code from ``src_dir``; True when it changed."""
    before = flows_path.read_text(encoding="utf-8")
    after = dump(with_sources(load(flows_path), src_dir))
    if after == before:
        return False
    flows_path.write_text(after, encoding="utf-8")
    return True


def credential_problems(flows: list[dict[str, Any]]) -> list[str]:
    """Everything in the flows that looks like a credential: a ``credentials`` block (exported
    with credentials), or a secret-named property with a value that is not a ``${ENV}`` reference."""
    problems = []
    for node in flows:
        label = f"node {node.get('id')} ({node.get('type')} '{node.get('name', '')}')"
        if node.get("credentials"):
            problems.append(f"{label} carries credentials")
        for key, value in node.items():
            if (
                key.lower() in SECRET_PROPERTIES
                and isinstance(value, str)
                and value
                and not _ENV_REFERENCE.match(value)
            ):
                problems.append(f"{label} has a value in '{key}'")
    return problems
