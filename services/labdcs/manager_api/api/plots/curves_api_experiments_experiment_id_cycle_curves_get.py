from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cycle_curves import CycleCurves
from ...models.error_body import ErrorBody
from ...types import UNSET, Response


def _get_kwargs(
    experiment_id: str,
    *,
    cycle: list[int],
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_cycle = cycle

    params["cycle"] = json_cycle

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/experiments/{experiment_id}/cycle-curves".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | list[CycleCurves] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = CycleCurves.from_dict(response_200_item_data)

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
) -> Response[ErrorBody | list[CycleCurves]]:
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
    cycle: list[int],
) -> Response[ErrorBody | list[CycleCurves]]:
    """Curves

     Voltage against capacity and dQ/dV of each chosen cycle, charge and discharge.

    Args:
        experiment_id (str):
        cycle (list[int]): Cycle indexes

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[CycleCurves]]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        cycle=cycle,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    cycle: list[int],
) -> ErrorBody | list[CycleCurves] | None:
    """Curves

     Voltage against capacity and dQ/dV of each chosen cycle, charge and discharge.

    Args:
        experiment_id (str):
        cycle (list[int]): Cycle indexes

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[CycleCurves]
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        cycle=cycle,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    cycle: list[int],
) -> Response[ErrorBody | list[CycleCurves]]:
    """Curves

     Voltage against capacity and dQ/dV of each chosen cycle, charge and discharge.

    Args:
        experiment_id (str):
        cycle (list[int]): Cycle indexes

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[CycleCurves]]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        cycle=cycle,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    cycle: list[int],
) -> ErrorBody | list[CycleCurves] | None:
    """Curves

     Voltage against capacity and dQ/dV of each chosen cycle, charge and discharge.

    Args:
        experiment_id (str):
        cycle (list[int]): Cycle indexes

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[CycleCurves]
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            cycle=cycle,
        )
    ).parsed
