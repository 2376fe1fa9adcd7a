from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.command_out import CommandOut
from ...models.control_api_experiments_experiment_id_action_post_action import (
    ControlApiExperimentsExperimentIdActionPostAction,
)
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    experiment_id: str,
    action: ControlApiExperimentsExperimentIdActionPostAction,
    *,
    user: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_user: None | str | Unset
    if isinstance(user, Unset):
        json_user = UNSET
    else:
        json_user = user
    params["user"] = json_user

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/experiments/{experiment_id}/{action}".format(
            experiment_id=quote(str(experiment_id), safe=""),
            action=quote(str(action), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CommandOut | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CommandOut.from_dict(response.json())

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
) -> Response[CommandOut | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    experiment_id: str,
    action: ControlApiExperimentsExperimentIdActionPostAction,
    *,
    client: AuthenticatedClient | Client,
    user: None | str | Unset = UNSET,
) -> Response[CommandOut | ErrorBody]:
    """Control

     Pause, resume or stop a run through the station; stop takes a queued experiment out of the
    queue.

    Args:
        experiment_id (str):
        action (ControlApiExperimentsExperimentIdActionPostAction):
        user (None | str | Unset): The person at a shared login, audited with it

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CommandOut | ErrorBody]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        action=action,
        user=user,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    experiment_id: str,
    action: ControlApiExperimentsExperimentIdActionPostAction,
    *,
    client: AuthenticatedClient | Client,
    user: None | str | Unset = UNSET,
) -> CommandOut | ErrorBody | None:
    """Control

     Pause, resume or stop a run through the station; stop takes a queued experiment out of the
    queue.

    Args:
        experiment_id (str):
        action (ControlApiExperimentsExperimentIdActionPostAction):
        user (None | str | Unset): The person at a shared login, audited with it

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CommandOut | ErrorBody
    """

    return sync_detailed(
        experiment_id=experiment_id,
        action=action,
        client=client,
        user=user,
    ).parsed


async def asyncio_detailed(
    experiment_id: str,
    action: ControlApiExperimentsExperimentIdActionPostAction,
    *,
    client: AuthenticatedClient | Client,
    user: None | str | Unset = UNSET,
) -> Response[CommandOut | ErrorBody]:
    """Control

     Pause, resume or stop a run through the station; stop takes a queued experiment out of the
    queue.

    Args:
        experiment_id (str):
        action (ControlApiExperimentsExperimentIdActionPostAction):
        user (None | str | Unset): The person at a shared login, audited with it

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CommandOut | ErrorBody]
    """

    kwargs = _get_kwargs(
        experiment_id=experiment_id,
        action=action,
        user=user,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    experiment_id: str,
    action: ControlApiExperimentsExperimentIdActionPostAction,
    *,
    client: AuthenticatedClient | Client,
    user: None | str | Unset = UNSET,
) -> CommandOut | ErrorBody | None:
    """Control

     Pause, resume or stop a run through the station; stop takes a queued experiment out of the
    queue.

    Args:
        experiment_id (str):
        action (ControlApiExperimentsExperimentIdActionPostAction):
        user (None | str | Unset): The person at a shared login, audited with it

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CommandOut | ErrorBody
    """

    return (
        await asyncio_detailed(
            experiment_id=experiment_id,
            action=action,
            client=client,
            user=user,
        )
    ).parsed
