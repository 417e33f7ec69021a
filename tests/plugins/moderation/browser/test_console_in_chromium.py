"""The moderation console and the Report and Block actions in a real browser: a report
filed in one browser appears in the console of another, and the ban taken there takes
the reported user out of the room in the first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.chromium import log_in
from tests.helpers import LiveServer

from ..conftest import People, start

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    server = start(tmp_path, database_url)
    yield server
    server.stop()


@pytest.fixture
def contexts(browser: Browser, server: LiveServer) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def signed_in_page(browser: Browser, server: LiveServer, made: list, username: str) -> Page:  # type: ignore[type-arg]
    context = browser.new_context(base_url=server.url, locale="en-US", timezone_id="UTC")
    made.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    log_in(page, username)
    return page


def test_report_in_one_browser_ban_in_another(
    browser: Browser, server: LiveServer, contexts: list[BrowserContext]
) -> None:
    people = People(server)
    host, troll, listener, mod = (
        people("host"),
        people("troll"),
        people("listener"),
        people.moderator(),
    )
    rid = host.open_room("Friday night")["id"]
    assert troll.post(f"/api/rooms/{rid}/join").status_code == 200
    assert host.post(f"/api/rooms/{rid}/invite-to-speak", {"user_id": troll.id}).is_success
    assert troll.post(f"/api/rooms/{rid}/invitation/accept").status_code == 200

    # Browser one: a listener in the room reports the speaker.
    room = signed_in_page(browser, server, contexts, listener.username)
    room.goto(f"/rooms/{rid}")
    # Opening a live room's page enters it.
    expect(room.locator("#audience > li.person", has_text="listener")).to_be_visible()
    stage_troll = room.locator("#stage > li.person", has_text="troll")
    expect(stage_troll).to_be_visible()
    room.locator("#room-extras summary", has_text="Report").click()
    room.get_by_label("Whom to report").select_option(troll.username)
    room.get_by_label("Reason").select_option("harassment")
    room.get_by_label("Details").fill("insults on stage")
    room.locator("#room-report").get_by_role("button", name="Report").click()
    expect(room.locator("#flash")).to_contain_text("the moderators will look")
    # The console is not the listener's: no link to it, and the page refuses them.
    expect(room.get_by_role("link", name="Moderation")).to_have_count(0)
    other_tab = room.context.new_page()
    refused = other_tab.goto("/moderation")
    assert refused is not None and refused.status == 403
    expect(other_tab.get_by_role("heading", name="Moderators only.")).to_be_visible()
    other_tab.close()

    # Browser two: the moderator's console shows it, with the room's context.
    console = signed_in_page(browser, server, contexts, mod.username)
    console.get_by_role("link", name="Moderation").click()
    expect(console).to_have_url(re.compile(r"/moderation$"))
    report = console.locator("#reports > li.report", has_text=troll.username)
    expect(report).to_contain_text("harassment")
    expect(report).to_contain_text("insults on stage")
    expect(report).to_contain_text("Friday night")
    expect(report).to_contain_text(f"reported by @{listener.username}")
    report.get_by_role("button", name=re.compile("^Suspend")).click()
    expect(console.locator("#flash")).to_contain_text(f"Suspended @{troll.username}")
    expect(console.locator("#suspensions li", has_text=troll.username)).to_be_visible()
    expect(report).to_have_count(0)  # no longer open
    expect(console.locator("#audit li[data-action=suspend]")).to_contain_text(troll.username)

    # Browser one: the reported speaker is gone from the room, live.
    expect(stage_troll).to_have_count(0)
    expect(room.locator("#stage > li.person", has_text="host")).to_be_visible()

    # The profile's Block action, in browser one.
    room.goto(f"/users/{host.username}")
    room.locator("#block-button").click()
    expect(room.locator("#flash")).to_contain_text(f"You blocked @{host.username}")
    expect(room.locator("#block-button")).to_have_text("Unblock")
    assert host.post(f"/api/users/{listener.username}/follow").status_code == 403
    people.engine.dispose()
    for page in (room, console):
        assert not page.errors, page.errors  # type: ignore[attr-defined]
