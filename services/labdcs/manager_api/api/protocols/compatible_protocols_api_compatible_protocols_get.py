from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.compatible import Compatible
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cell: str,
    station: str,
    channel: str | Unset = "ch1",
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cell"] = cell

    params["station"] = station

    params["channel"] = channel

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/compatible-protocols",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | list[Compatible] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Compatible.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

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
) -> Response[ErrorBody | list[Compatible]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    cell: str,
    station: str,
    channel: str | Unset = "ch1",
) -> Response[ErrorBody | list[Compatible]]:
    """Compatible Protocols

     Every stored protocol, with whether it may run on this cell and station channel, and why not.

    Args:
        cell (str):
        station (str):
        channel (str | Unset):  Default: 'ch1'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[Compatible]]
    """

    kwargs = _get_kwargs(
        cell=cell,
        station=station,
        channel=channel,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    cell: str,
    station: str,
    channel: str | Unset = "ch1",
) -> ErrorBody | list[Compatible] | None:
    """Compatible Protocols

     Every stored protocol, with whether it may run on this cell and station channel, and why not.

    Args:
        cell (str):
        station (str):
        channel (str | Unset):  Default: 'ch1'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[Compatible]
    """

    return sync_detailed(
        client=client,
        cell=cell,
        station=station,
        channel=channel,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    cell: str,
    station: str,
    channel: str | Unset = "ch1",
) -> Response[ErrorBody | list[Compatible]]:
    """Compatible Protocols

     Every stored protocol, with whether it may run on this cell and station channel, and why not.

    Args:
        cell (str):
        station (str):
        channel (str | Unset):  Default: 'ch1'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[Compatible]]
    """

    kwargs = _get_kwargs(
        cell=cell,
        station=station,
        channel=channel,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    cell: str,
    station: str,
    channel: str | Unset = "ch1",
) -> ErrorBody | list[Compatible] | None:
    """Compatible Protocols

     Every stored protocol, with whether it may run on this cell and station channel, and why not.

    Args:
        cell (str):
        station (str):
        channel (str | Unset):  Default: 'ch1'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[Compatible]
    """

    return (
        await asyncio_detailed(
            client=client,
            cell=cell,
            station=station,
            channel=channel,
        )
    ).parsed
