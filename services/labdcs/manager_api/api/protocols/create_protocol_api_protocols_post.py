from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.protocol_in import ProtocolIn
from ...models.protocol_stored import ProtocolStored
from ...types import Response


def _get_kwargs(
    *,
    body: ProtocolIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/protocols",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ProtocolStored | None:
    if response.status_code == 201:
        response_201 = ProtocolStored.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | ProtocolStored]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ProtocolIn,
) -> Response[ErrorBody | ProtocolStored]:
    """Create Protocol

     Store a protocol as a new immutable version (the same content returns the stored one).

    Args:
        body (ProtocolIn): A protocol to store: its document (YAML/JSON as an object), its text
            form, or WattRex lines.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ProtocolStored]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ProtocolIn,
) -> ErrorBody | ProtocolStored | None:
    """Create Protocol

     Store a protocol as a new immutable version (the same content returns the stored one).

    Args:
        body (ProtocolIn): A protocol to store: its document (YAML/JSON as an object), its text
            form, or WattRex lines.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ProtocolStored
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ProtocolIn,
) -> Response[ErrorBody | ProtocolStored]:
    """Create Protocol

     Store a protocol as a new immutable version (the same content returns the stored one).

    Args:
        body (ProtocolIn): A protocol to store: its document (YAML/JSON as an object), its text
            form, or WattRex lines.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ProtocolStored]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ProtocolIn,
) -> ErrorBody | ProtocolStored | None:
    """Create Protocol

     Store a protocol as a new immutable version (the same content returns the stored one).

    Args:
        body (ProtocolIn): A protocol to store: its document (YAML/JSON as an object), its text
            form, or WattRex lines.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ProtocolStored
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
