from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.get_column_battery_api_dataset_id_column_id_get_precision import (
    GetColumnBatteryApiDatasetIdColumnIdGetPrecision,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: int,
    column_id: int,
    *,
    precision: GetColumnBatteryApiDatasetIdColumnIdGetPrecision
    | Unset = GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_precision: str | Unset = UNSET
    if not isinstance(precision, Unset):
        json_precision = precision.value

    params["precision"] = json_precision

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/battery-api/dataset/{id}/{column_id}".format(
            id=quote(str(id), safe=""),
            column_id=quote(str(column_id), safe=""),
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
    id: int,
    column_id: int,
    *,
    client: AuthenticatedClient | Client,
    precision: GetColumnBatteryApiDatasetIdColumnIdGetPrecision
    | Unset = GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE,
) -> Response[Any | ErrorBody]:
    """Get Column

     One column of the experiment's full-resolution data, in time order.

    Args:
        id (int):
        column_id (int):
        precision (GetColumnBatteryApiDatasetIdColumnIdGetPrecision | Unset):  Default:
            GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        column_id=column_id,
        precision=precision,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: int,
    column_id: int,
    *,
    client: AuthenticatedClient | Client,
    precision: GetColumnBatteryApiDatasetIdColumnIdGetPrecision
    | Unset = GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE,
) -> Any | ErrorBody | None:
    """Get Column

     One column of the experiment's full-resolution data, in time order.

    Args:
        id (int):
        column_id (int):
        precision (GetColumnBatteryApiDatasetIdColumnIdGetPrecision | Unset):  Default:
            GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        id=id,
        column_id=column_id,
        client=client,
        precision=precision,
    ).parsed


async def asyncio_detailed(
    id: int,
    column_id: int,
    *,
    client: AuthenticatedClient | Client,
    precision: GetColumnBatteryApiDatasetIdColumnIdGetPrecision
    | Unset = GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE,
) -> Response[Any | ErrorBody]:
    """Get Column

     One column of the experiment's full-resolution data, in time order.

    Args:
        id (int):
        column_id (int):
        precision (GetColumnBatteryApiDatasetIdColumnIdGetPrecision | Unset):  Default:
            GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        column_id=column_id,
        precision=precision,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: int,
    column_id: int,
    *,
    client: AuthenticatedClient | Client,
    precision: GetColumnBatteryApiDatasetIdColumnIdGetPrecision
    | Unset = GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE,
) -> Any | ErrorBody | None:
    """Get Column

     One column of the experiment's full-resolution data, in time order.

    Args:
        id (int):
        column_id (int):
        precision (GetColumnBatteryApiDatasetIdColumnIdGetPrecision | Unset):  Default:
            GetColumnBatteryApiDatasetIdColumnIdGetPrecision.SINGLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            id=id,
            column_id=column_id,
            client=client,
            precision=precision,
        )
    ).parsed
