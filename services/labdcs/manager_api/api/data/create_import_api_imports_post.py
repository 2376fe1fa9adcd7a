from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.body_create_import_api_imports_post import BodyCreateImportApiImportsPost
from ...models.error_body import ErrorBody
from ...models.import_job_out import ImportJobOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: BodyCreateImportApiImportsPost,
    wait: bool | Unset = False,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/imports",
        "params": params,
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ImportJobOut | None:
    if response.status_code == 202:
        response_202 = ImportJobOut.from_dict(response.json())

        return response_202

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
) -> Response[ErrorBody | ImportJobOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BodyCreateImportApiImportsPost,
    wait: bool | Unset = False,
) -> Response[ErrorBody | ImportJobOut]:
    """Create Import

     Import a finished experiment from a file; progress at ``GET /api/imports/{job}``. A body
    larger than the limit (``LABDCS_UPLOAD_MAX_BYTES``, default 2 GiB) is answered 413.

    Args:
        wait (bool | Unset): Answer when the import has ended Default: False.
        body (BodyCreateImportApiImportsPost):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ImportJobOut]
    """

    kwargs = _get_kwargs(
        body=body,
        wait=wait,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: BodyCreateImportApiImportsPost,
    wait: bool | Unset = False,
) -> ErrorBody | ImportJobOut | None:
    """Create Import

     Import a finished experiment from a file; progress at ``GET /api/imports/{job}``. A body
    larger than the limit (``LABDCS_UPLOAD_MAX_BYTES``, default 2 GiB) is answered 413.

    Args:
        wait (bool | Unset): Answer when the import has ended Default: False.
        body (BodyCreateImportApiImportsPost):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ImportJobOut
    """

    return sync_detailed(
        client=client,
        body=body,
        wait=wait,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BodyCreateImportApiImportsPost,
    wait: bool | Unset = False,
) -> Response[ErrorBody | ImportJobOut]:
    """Create Import

     Import a finished experiment from a file; progress at ``GET /api/imports/{job}``. A body
    larger than the limit (``LABDCS_UPLOAD_MAX_BYTES``, default 2 GiB) is answered 413.

    Args:
        wait (bool | Unset): Answer when the import has ended Default: False.
        body (BodyCreateImportApiImportsPost):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ImportJobOut]
    """

    kwargs = _get_kwargs(
        body=body,
        wait=wait,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: BodyCreateImportApiImportsPost,
    wait: bool | Unset = False,
) -> ErrorBody | ImportJobOut | None:
    """Create Import

     Import a finished experiment from a file; progress at ``GET /api/imports/{job}``. A body
    larger than the limit (``LABDCS_UPLOAD_MAX_BYTES``, default 2 GiB) is answered 413.

    Args:
        wait (bool | Unset): Answer when the import has ended Default: False.
        body (BodyCreateImportApiImportsPost):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ImportJobOut
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            wait=wait,
        )
    ).parsed
