from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.list_experiments_api_experiments_get_order import ListExperimentsApiExperimentsGetOrder
from ...models.list_experiments_api_experiments_get_sort import ListExperimentsApiExperimentsGetSort
from ...models.page_experiment import PageExperiment
from ...models.status import Status
from ...models.technology import Technology
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    technology: None | Technology | Unset = UNSET,
    cell: None | str | Unset = UNSET,
    station: None | str | Unset = UNSET,
    protocol: None | str | Unset = UNSET,
    status: list[Status] | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
    sort: ListExperimentsApiExperimentsGetSort | Unset = ListExperimentsApiExperimentsGetSort.CREATED,
    order: ListExperimentsApiExperimentsGetOrder | Unset = ListExperimentsApiExperimentsGetOrder.DESC,
    offset: int | Unset = 0,
    limit: int | Unset = 50,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_technology: None | str | Unset
    if isinstance(technology, Unset):
        json_technology = UNSET
    elif isinstance(technology, Technology):
        json_technology = technology.value
    else:
        json_technology = technology
    params["technology"] = json_technology

    json_cell: None | str | Unset
    if isinstance(cell, Unset):
        json_cell = UNSET
    else:
        json_cell = cell
    params["cell"] = json_cell

    json_station: None | str | Unset
    if isinstance(station, Unset):
        json_station = UNSET
    else:
        json_station = station
    params["station"] = json_station

    json_protocol: None | str | Unset
    if isinstance(protocol, Unset):
        json_protocol = UNSET
    else:
        json_protocol = protocol
    params["protocol"] = json_protocol

    json_status: list[str] | None | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, list):
        json_status = []
        for status_type_0_item_data in status:
            status_type_0_item = status_type_0_item_data.value
            json_status.append(status_type_0_item)

    else:
        json_status = status
    params["status"] = json_status

    json_q: None | str | Unset
    if isinstance(q, Unset):
        json_q = UNSET
    else:
        json_q = q
    params["q"] = json_q

    json_sort: str | Unset = UNSET
    if not isinstance(sort, Unset):
        json_sort = sort.value

    params["sort"] = json_sort

    json_order: str | Unset = UNSET
    if not isinstance(order, Unset):
        json_order = order.value

    params["order"] = json_order

    params["offset"] = offset

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/experiments",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | PageExperiment | None:
    if response.status_code == 200:
        response_200 = PageExperiment.from_dict(response.json())

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
) -> Response[ErrorBody | PageExperiment]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    technology: None | Technology | Unset = UNSET,
    cell: None | str | Unset = UNSET,
    station: None | str | Unset = UNSET,
    protocol: None | str | Unset = UNSET,
    status: list[Status] | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
    sort: ListExperimentsApiExperimentsGetSort | Unset = ListExperimentsApiExperimentsGetSort.CREATED,
    order: ListExperimentsApiExperimentsGetOrder | Unset = ListExperimentsApiExperimentsGetOrder.DESC,
    offset: int | Unset = 0,
    limit: int | Unset = 50,
) -> Response[ErrorBody | PageExperiment]:
    """List Experiments

    Args:
        technology (None | Technology | Unset):
        cell (None | str | Unset):
        station (None | str | Unset):
        protocol (None | str | Unset):
        status (list[Status] | None | Unset):
        q (None | str | Unset): Text in name or description
        sort (ListExperimentsApiExperimentsGetSort | Unset):  Default:
            ListExperimentsApiExperimentsGetSort.CREATED.
        order (ListExperimentsApiExperimentsGetOrder | Unset):  Default:
            ListExperimentsApiExperimentsGetOrder.DESC.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PageExperiment]
    """

    kwargs = _get_kwargs(
        technology=technology,
        cell=cell,
        station=station,
        protocol=protocol,
        status=status,
        q=q,
        sort=sort,
        order=order,
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
    technology: None | Technology | Unset = UNSET,
    cell: None | str | Unset = UNSET,
    station: None | str | Unset = UNSET,
    protocol: None | str | Unset = UNSET,
    status: list[Status] | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
    sort: ListExperimentsApiExperimentsGetSort | Unset = ListExperimentsApiExperimentsGetSort.CREATED,
    order: ListExperimentsApiExperimentsGetOrder | Unset = ListExperimentsApiExperimentsGetOrder.DESC,
    offset: int | Unset = 0,
    limit: int | Unset = 50,
) -> ErrorBody | PageExperiment | None:
    """List Experiments

    Args:
        technology (None | Technology | Unset):
        cell (None | str | Unset):
        station (None | str | Unset):
        protocol (None | str | Unset):
        status (list[Status] | None | Unset):
        q (None | str | Unset): Text in name or description
        sort (ListExperimentsApiExperimentsGetSort | Unset):  Default:
            ListExperimentsApiExperimentsGetSort.CREATED.
        order (ListExperimentsApiExperimentsGetOrder | Unset):  Default:
            ListExperimentsApiExperimentsGetOrder.DESC.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PageExperiment
    """

    return sync_detailed(
        client=client,
        technology=technology,
        cell=cell,
        station=station,
        protocol=protocol,
        status=status,
        q=q,
        sort=sort,
        order=order,
        offset=offset,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    technology: None | Technology | Unset = UNSET,
    cell: None | str | Unset = UNSET,
    station: None | str | Unset = UNSET,
    protocol: None | str | Unset = UNSET,
    status: list[Status] | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
    sort: ListExperimentsApiExperimentsGetSort | Unset = ListExperimentsApiExperimentsGetSort.CREATED,
    order: ListExperimentsApiExperimentsGetOrder | Unset = ListExperimentsApiExperimentsGetOrder.DESC,
    offset: int | Unset = 0,
    limit: int | Unset = 50,
) -> Response[ErrorBody | PageExperiment]:
    """List Experiments

    Args:
        technology (None | Technology | Unset):
        cell (None | str | Unset):
        station (None | str | Unset):
        protocol (None | str | Unset):
        status (list[Status] | None | Unset):
        q (None | str | Unset): Text in name or description
        sort (ListExperimentsApiExperimentsGetSort | Unset):  Default:
            ListExperimentsApiExperimentsGetSort.CREATED.
        order (ListExperimentsApiExperimentsGetOrder | Unset):  Default:
            ListExperimentsApiExperimentsGetOrder.DESC.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PageExperiment]
    """

    kwargs = _get_kwargs(
        technology=technology,
        cell=cell,
        station=station,
        protocol=protocol,
        status=status,
        q=q,
        sort=sort,
        order=order,
        offset=offset,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    technology: None | Technology | Unset = UNSET,
    cell: None | str | Unset = UNSET,
    station: None | str | Unset = UNSET,
    protocol: None | str | Unset = UNSET,
    status: list[Status] | None | Unset = UNSET,
    q: None | str | Unset = UNSET,
    sort: ListExperimentsApiExperimentsGetSort | Unset = ListExperimentsApiExperimentsGetSort.CREATED,
    order: ListExperimentsApiExperimentsGetOrder | Unset = ListExperimentsApiExperimentsGetOrder.DESC,
    offset: int | Unset = 0,
    limit: int | Unset = 50,
) -> ErrorBody | PageExperiment | None:
    """List Experiments

    Args:
        technology (None | Technology | Unset):
        cell (None | str | Unset):
        station (None | str | Unset):
        protocol (None | str | Unset):
        status (list[Status] | None | Unset):
        q (None | str | Unset): Text in name or description
        sort (ListExperimentsApiExperimentsGetSort | Unset):  Default:
            ListExperimentsApiExperimentsGetSort.CREATED.
        order (ListExperimentsApiExperimentsGetOrder | Unset):  Default:
            ListExperimentsApiExperimentsGetOrder.DESC.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PageExperiment
    """

    return (
        await asyncio_detailed(
            client=client,
            technology=technology,
            cell=cell,
            station=station,
            protocol=protocol,
            status=status,
            q=q,
            sort=sort,
            order=order,
            offset=offset,
            limit=limit,
        )
    ).parsed
