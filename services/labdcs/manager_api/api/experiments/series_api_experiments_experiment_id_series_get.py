from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.series_out import SeriesOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    *,
    points: int | Unset = 800,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["points"] = points

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/experiments/{experiment_id}/series".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SeriesOut | None:
    if response.status_code == 200:
        response_200 = SeriesOut.from_dict(response.json())

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
) -> Response[ErrorBody | SeriesOut]:
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
    points: int | Unset = 800,
) -> Response[ErrorBody | SeriesOut]:
    """Series

     Voltage, current and temperature averaged to about ``points`` samples (for plots).

    Args:
        experiment_id (str):
        points (int | Unset):  Default: 800.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SeriesOut]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        points=points,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 800,
) -> ErrorBody | SeriesOut | None:
    """Series

     Voltage, current and temperature averaged to about ``points`` samples (for plots).

    Args:
        experiment_id (str):
        points (int | Unset):  Default: 800.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SeriesOut
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        points=points,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 800,
) -> Response[ErrorBody | SeriesOut]:
    """Series

     Voltage, current and temperature averaged to about ``points`` samples (for plots).

    Args:
        experiment_id (str):
        points (int | Unset):  Default: 800.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SeriesOut]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        points=points,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 800,
) -> ErrorBody | SeriesOut | None:
    """Series

     Voltage, current and temperature averaged to about ``points`` samples (for plots).

    Args:
        experiment_id (str):
        points (int | Unset):  Default: 800.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SeriesOut
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            points=points,
        )
    ).parsed
