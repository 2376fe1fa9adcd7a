from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    *,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_start: int | None | Unset
    if isinstance(start, Unset):
        json_start = UNSET
    else:
        json_start = start
    params["start"] = json_start

    json_end: int | None | Unset
    if isinstance(end, Unset):
        json_end = UNSET
    else:
        json_end = end
    params["end"] = json_end

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/experiments/{experiment_id}/view.csv".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody | None:
    if response.status_code == 200:
        response_200 = response.json()
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
) -> Response[Any | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """View Csv

     Every sample in ``[start, end]`` (inside the run) at full resolution, BDF columns: the CSV
    of what a plot shows.

    Args:
        experiment_id (str):
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        start=start,
        end=end,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
) -> Any | ErrorBody | None:
    """View Csv

     Every sample in ``[start, end]`` (inside the run) at full resolution, BDF columns: the CSV
    of what a plot shows.

    Args:
        experiment_id (str):
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        start=start,
        end=end,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """View Csv

     Every sample in ``[start, end]`` (inside the run) at full resolution, BDF columns: the CSV
    of what a plot shows.

    Args:
        experiment_id (str):
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        start=start,
        end=end,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
) -> Any | ErrorBody | None:
    """View Csv

     Every sample in ``[start, end]`` (inside the run) at full resolution, BDF columns: the CSV
    of what a plot shows.

    Args:
        experiment_id (str):
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            start=start,
            end=end,
        )
    ).parsed
