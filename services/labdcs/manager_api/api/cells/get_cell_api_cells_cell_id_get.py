from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cell import Cell
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    cell_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/cells/{cell_id}".format(
            cell_id=quote(str(cell_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Cell | ErrorBody | None:
    if response.status_code == 200:
        response_200 = Cell.from_dict(response.json())

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
) -> Response[Cell | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    cell_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Cell | ErrorBody]:
    """Get Cell

    Args:
        cell_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Cell | ErrorBody]
    """

    kwargs = _get_kwargs(
        cell_id=cell_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cell_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Cell | ErrorBody | None:
    """Get Cell

    Args:
        cell_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Cell | ErrorBody
    """

    return sync_detailed(
        cell_id=cell_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    cell_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Cell | ErrorBody]:
    """Get Cell

    Args:
        cell_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Cell | ErrorBody]
    """

    kwargs = _get_kwargs(
        cell_id=cell_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cell_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Cell | ErrorBody | None:
    """Get Cell

    Args:
        cell_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Cell | ErrorBody
    """

    return (
        await asyncio_detailed(
            cell_id=cell_id,
            client=client,
        )
    ).parsed
