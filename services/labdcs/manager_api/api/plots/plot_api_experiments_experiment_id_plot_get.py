from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.plot_api_experiments_experiment_id_plot_get_field_type_0_item import (
    PlotApiExperimentsExperimentIdPlotGetFieldType0Item,
)
from ...models.plot_data import PlotData
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    *,
    field: list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset = UNSET,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
    since: int | None | Unset = UNSET,
    width: int | Unset = 1000,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_field: list[str] | None | Unset
    if isinstance(field, Unset):
        json_field = UNSET
    elif isinstance(field, list):
        json_field = []
        for field_type_0_item_data in field:
            field_type_0_item = field_type_0_item_data.value
            json_field.append(field_type_0_item)

    else:
        json_field = field
    params["field"] = json_field

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

    json_since: int | None | Unset
    if isinstance(since, Unset):
        json_since = UNSET
    else:
        json_since = since
    params["since"] = json_since

    params["width"] = width

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/experiments/{experiment_id}/plot".format(
            experiment_id=quote(str(experiment_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | PlotData | None:
    if response.status_code == 200:
        response_200 = PlotData.from_dict(response.json())

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
) -> Response[ErrorBody | PlotData]:
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
    field: list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset = UNSET,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
    since: int | None | Unset = UNSET,
    width: int | Unset = 1000,
) -> Response[ErrorBody | PlotData]:
    """Plot

     The quantities over ``[start, end]`` (default: the whole run): every sample when there are
    at most two per pixel, else min and max per time bucket (extremes kept). With ``since``: the
    samples after it, at full resolution (what a live plot appends).

    Args:
        experiment_id (str):
        field (list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset):
            Quantities; default V, I, T
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch
        since (int | None | Unset): Only samples after this ms (live append)
        width (int | Unset): Pixels the plot is wide Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PlotData]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        field=field,
        start=start,
        end=end,
        since=since,
        width=width,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    field: list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset = UNSET,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
    since: int | None | Unset = UNSET,
    width: int | Unset = 1000,
) -> ErrorBody | PlotData | None:
    """Plot

     The quantities over ``[start, end]`` (default: the whole run): every sample when there are
    at most two per pixel, else min and max per time bucket (extremes kept). With ``since``: the
    samples after it, at full resolution (what a live plot appends).

    Args:
        experiment_id (str):
        field (list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset):
            Quantities; default V, I, T
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch
        since (int | None | Unset): Only samples after this ms (live append)
        width (int | Unset): Pixels the plot is wide Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PlotData
    """

    return sync_detailed(
        experiment_id=experiment_id,
        client=client,
        field=field,
        start=start,
        end=end,
        since=since,
        width=width,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    field: list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset = UNSET,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
    since: int | None | Unset = UNSET,
    width: int | Unset = 1000,
) -> Response[ErrorBody | PlotData]:
    """Plot

     The quantities over ``[start, end]`` (default: the whole run): every sample when there are
    at most two per pixel, else min and max per time bucket (extremes kept). With ``since``: the
    samples after it, at full resolution (what a live plot appends).

    Args:
        experiment_id (str):
        field (list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset):
            Quantities; default V, I, T
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch
        since (int | None | Unset): Only samples after this ms (live append)
        width (int | Unset): Pixels the plot is wide Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PlotData]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        field=field,
        start=start,
        end=end,
        since=since,
        width=width,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    *,
    client: AuthenticatedClient | Client,
    field: list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset = UNSET,
    start: int | None | Unset = UNSET,
    end: int | None | Unset = UNSET,
    since: int | None | Unset = UNSET,
    width: int | Unset = 1000,
) -> ErrorBody | PlotData | None:
    """Plot

     The quantities over ``[start, end]`` (default: the whole run): every sample when there are
    at most two per pixel, else min and max per time bucket (extremes kept). With ``since``: the
    samples after it, at full resolution (what a live plot appends).

    Args:
        experiment_id (str):
        field (list[PlotApiExperimentsExperimentIdPlotGetFieldType0Item] | None | Unset):
            Quantities; default V, I, T
        start (int | None | Unset): ms since the epoch
        end (int | None | Unset): ms since the epoch
        since (int | None | Unset): Only samples after this ms (live append)
        width (int | Unset): Pixels the plot is wide Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PlotData
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            client=client,
            field=field,
            start=start,
            end=end,
            since=since,
            width=width,
        )
    ).parsed
