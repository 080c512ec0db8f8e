"""Microsoft's own Graph SDK for Python (msgraph-sdk: kiota + httpx) against
the sandbox, changing only the base URL and the CA it trusts.

The SDK deserializes every response into its generated models and raises
``ODataError`` from Graph's error envelope, so these tests fail whenever the
sandbox's JSON drifts from Graph's schema in a way a real client would notice.
"""
from __future__ import annotations

import asyncio
import ssl
import time

import httpx
import pytest

msgraph = pytest.importorskip("msgraph", reason="msgraph-sdk is in requirements-test.txt")

from azure.core.credentials import AccessToken  # noqa: E402
from kiota_abstractions.api_error import APIError  # noqa: E402
from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
from msgraph.graph_request_adapter import options as sdk_default_options  # noqa: E402
from msgraph.generated.models.attendee import Attendee  # noqa: E402
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone  # noqa: E402
from msgraph.generated.models.email_address import EmailAddress  # noqa: E402
from msgraph.generated.models.event import Event  # noqa: E402
from msgraph.generated.models.o_data_errors.o_data_error import ODataError  # noqa: E402
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (  # noqa: E402
    CalendarViewRequestBuilder,
)
from msgraph_core import GraphClientFactory  # noqa: E402

from tests.conftest import mint_token  # noqa: E402


class StaticTokenCredential:
    """An azure-core TokenCredential handing out one sandbox access token."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def sdk_client(sandbox, address: str) -> tuple[GraphServiceClient, httpx.AsyncClient]:
    credential = StaticTokenCredential(mint_token(sandbox, address))
    auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"],
                                               allowed_hosts=[sandbox.public_host])
    # The SDK's default client, except that it trusts the sandbox's CA.
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sandbox.ca_path)),
        options=sdk_default_options)
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = sandbox.graph_url
    return GraphServiceClient(request_adapter=adapter), http


def run(coroutine):
    return asyncio.run(coroutine)


def test_me_and_calendars(sandbox):
    async def scenario():
        client, http = sdk_client(sandbox, "alice@contoso.com")
        async with http:
            me = await client.me.get()
            calendars = await client.me.calendars.get()
        return me, calendars
    me, calendars = run(scenario())
    assert me.mail == "alice@contoso.com"
    assert me.display_name == "Alice Martin"
    assert [c.is_default_calendar for c in calendars.value] == [True]


def test_event_life_cycle_through_the_sdk(sandbox):
    async def scenario():
        client, http = sdk_client(sandbox, "alice@contoso.com")
        async with http:
            created = await client.me.events.post(Event(
                subject="Réunion budget",
                start=DateTimeTimeZone(date_time="2026-12-01T09:00:00", time_zone="Romance Standard Time"),
                end=DateTimeTimeZone(date_time="2026-12-01T10:00:00", time_zone="Romance Standard Time"),
                attendees=[Attendee(email_address=EmailAddress(address="bob@contoso.com", name="Bob"))],
            ))
            fetched = await client.me.events.by_event_id(created.id).get()
            patched = await client.me.events.by_event_id(created.id).patch(Event(subject="Budget review"))
            query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
                start_date_time="2026-12-01T00:00:00Z", end_date_time="2026-12-02T00:00:00Z")
            view = await client.me.calendar_view.get(
                request_configuration=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetRequestConfiguration(
                    query_parameters=query))
            await client.me.events.by_event_id(created.id).delete()
            with pytest.raises(ODataError) as missing:
                await client.me.events.by_event_id(created.id).get()
        return created, fetched, patched, view, missing.value
    created, fetched, patched, view, missing = run(scenario())
    assert created.subject == "Réunion budget"
    # 09:00 Brussels in December is 08:00 UTC, and Graph answers in UTC by default.
    assert fetched.start.date_time.startswith("2026-12-01T08:00:00") and fetched.start.time_zone == "UTC"
    assert fetched.original_start_time_zone == "Romance Standard Time"
    assert fetched.attendees[0].email_address.address == "bob@contoso.com"
    assert patched.subject == "Budget review" and patched.change_key != created.change_key
    assert [e.id for e in view.value] == [created.id]
    assert missing.response_status_code == 404
    assert missing.error.code == "ErrorItemNotFound"


def test_sdk_reads_graph_error_envelope(sandbox, control):
    control.post("/faults", json={"method": "GET", "path": "/me", "status": 400,
                                  "code": "ErrorInvalidRequest", "message": "Injected.", "times": 1})

    async def scenario():
        client, http = sdk_client(sandbox, "alice@contoso.com")
        async with http:
            with pytest.raises(APIError) as failure:
                await client.me.get()
        return failure.value
    failure = run(scenario())
    assert failure.response_status_code == 400
    assert failure.error.code == "ErrorInvalidRequest"
