"""The clubs pages in headless Chromium: a founder creates and edits a club, schedules
a weekly room; another person follows, asks to join, is approved, then removed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_web_client import sign_up

from .conftest import NewPage

pytestmark = pytest.mark.browser


def create_club(page: Page) -> None:
    page.get_by_role("link", name="Clubs").click()
    expect(page).to_have_url(re.compile(r"/clubs$"))
    page.get_by_role("link", name="Create a club").click()
    page.get_by_label("Name").fill("Night Owls")
    page.get_by_label("Description").fill("Talk after midnight")
    page.get_by_label("Topics").fill("sleep, dreams")
    # A bad avatar is refused, the field marked and focused.
    page.get_by_label("Avatar").fill("red")
    page.get_by_label("Who can join").select_option("approval")
    page.get_by_role("button", name="Create club").click()
    expect(page.locator("#flash")).to_contain_text("avatar")
    expect(page.get_by_label("Avatar")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Avatar")).to_be_focused()
    page.get_by_label("Avatar").fill("#224466")
    page.get_by_role("button", name="Create club").click()
    expect(page).to_have_url(re.compile(r"/clubs/night_owls$"))
    expect(page.get_by_role("heading", name="Night Owls", level=1)).to_be_visible()
    expect(page.locator("#my-role")).to_have_text("admin")


def test_found_a_club_and_run_it(new_page: NewPage) -> None:
    founder = new_page()
    sign_up(founder, "olga", "Olga Owl")
    create_club(founder)

    founder.get_by_role("link", name="Edit club").click()
    founder.get_by_label("Rules").fill("Whisper only.")
    founder.get_by_role("button", name="Save").click()
    expect(founder).to_have_url(re.compile(r"/clubs/night_owls$"))
    expect(founder.locator("#club-rules")).to_have_text("Whisper only.")

    # Schedule an open weekly room, in Paris time (the browser's zone is the default).
    founder.get_by_label("Title", exact=True).fill("Midnight chat")
    founder.get_by_label("Starts at").fill("2030-05-02T23:30")
    expect(founder.get_by_label("Time zone")).to_have_value("Europe/Paris")
    founder.get_by_label("Every week").check()
    founder.get_by_role("button", name="Open or schedule").click()
    expect(founder).to_have_url(re.compile(r"/rooms/\d+$"))
    expect(founder.get_by_role("link", name="Night Owls")).to_be_visible()
    founder.get_by_role("link", name="Night Owls").click()
    event = founder.locator("#club-schedule li", has_text="Midnight chat")
    expect(event).to_contain_text("Europe/Paris, weekly")
    expect(event.get_by_role("link", name="Add to calendar")).to_have_attribute(
        "href", re.compile(r"/api/clubs/night_owls/rooms/\d+/event\.ics$")
    )

    fan = new_page()
    sign_up(fan, "finn", "Finn Fan")
    fan.get_by_role("link", name="Clubs").click()
    fan.get_by_role("link", name="Night Owls").click()
    fan.get_by_role("button", name="Follow").click()
    expect(fan.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(fan.locator("#followers-count")).to_have_text("1")
    fan.get_by_role("button", name="Ask to join").click()
    expect(fan.locator("#club-actions")).to_contain_text("You asked to join")
    # The followed club's scheduled room is in the fan's hallway, marked with the club.
    fan.goto("/")
    card = fan.locator("#hallway li", has_text="Midnight chat")
    expect(card.locator(".badge.extra")).to_have_text("Night Owls")

    founder.get_by_role("link", name="Manage members").click()
    founder.get_by_role("button", name="Approve finn").click()
    finn_row = founder.locator("#member-rows li", has_text="@finn")
    expect(finn_row).to_be_visible()
    founder.get_by_label("Role of finn").select_option("leader")
    founder.get_by_role("button", name="Save role of finn").click()
    expect(finn_row.locator(".role")).to_have_text("leader")

    fan.goto("/clubs/night_owls")
    expect(fan.locator("#my-role")).to_have_text("leader")
    expect(fan.get_by_role("heading", name="Host a club room")).to_be_visible()
    expect(fan.locator("#club-members")).to_contain_text("Finn Fan")

    founder.get_by_role("button", name="Remove finn").click()
    expect(founder.locator("#member-rows li", has_text="@finn")).to_have_count(0)
    fan.reload()
    expect(fan.get_by_role("button", name="Ask to join")).to_be_visible()
    expect(fan.get_by_role("heading", name="Host a club room")).to_have_count(0)
