from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.list_harvested_files_api_harvested_files_get_status_type_0 import (
    ListHarvestedFilesApiHarvestedFilesGetStatusType0,
)
from ...models.page_harvested_file import PageHarvestedFile
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset = UNSET,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, ListHarvestedFilesApiHarvestedFilesGetStatusType0):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    params["offset"] = offset

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/harvested-files",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | PageHarvestedFile | None:
    if response.status_code == 200:
        response_200 = PageHarvestedFile.from_dict(response.json())

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
) -> Response[ErrorBody | PageHarvestedFile]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset = UNSET,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[ErrorBody | PageHarvestedFile]:
    """List Harvested Files

     Every file the harvester saw in its watched folders, by path: imported (with the experiment),
    failed or skipped (with the reason), waiting (still being written, a service away) or live
    (imported while the cycler writes it).

    Args:
        status (ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset):
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PageHarvestedFile]
    """

    kwargs = _get_kwargs(
        status=status,
        offset=offset,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset = UNSET,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> ErrorBody | PageHarvestedFile | None:
    """List Harvested Files

     Every file the harvester saw in its watched folders, by path: imported (with the experiment),
    failed or skipped (with the reason), waiting (still being written, a service away) or live
    (imported while the cycler writes it).

    Args:
        status (ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset):
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PageHarvestedFile
    """

    return sync_detailed(
        client=client,
        status=status,
        offset=offset,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset = UNSET,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[ErrorBody | PageHarvestedFile]:
    """List Harvested Files

     Every file the harvester saw in its watched folders, by path: imported (with the experiment),
    failed or skipped (with the reason), waiting (still being written, a service away) or live
    (imported while the cycler writes it).

    Args:
        status (ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset):
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PageHarvestedFile]
    """

    kwargs = _get_kwargs(
        status=status,
        offset=offset,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset = UNSET,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> ErrorBody | PageHarvestedFile | None:
    """List Harvested Files

     Every file the harvester saw in its watched folders, by path: imported (with the experiment),
    failed or skipped (with the reason), waiting (still being written, a service away) or live
    (imported while the cycler writes it).

    Args:
        status (ListHarvestedFilesApiHarvestedFilesGetStatusType0 | None | Unset):
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PageHarvestedFile
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            offset=offset,
            limit=limit,
        )
    ).parsed
