"""The web client in a real browser: headless Chromium against a real server.

Each test drives the pages the way a person would (forms, links, buttons, the
keyboard) and waits on what the page shows with Playwright's auto-waiting
``expect``; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.helpers import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
SCREENSHOT = "/tmp/salon-room.png"

NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, server: LiveServer) -> Iterator[NewPage]:
    """``new_page(**context_options)``: a page in a fresh browser context (its own
    cookies: one person). Confirmation dialogs are accepted; an uncaught script
    error on any page fails the test."""
    contexts = []
    errors: list[str] = []

    def make(**options: Any) -> Page:
        options = {"locale": "en-US", "timezone_id": "UTC", **options}
        context = browser.new_context(base_url=server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


def sign_up(page: Page, username: str, display_name: str, password: str = PASSWORD) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name=f"@{username}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))


def start_room(page: Page, title: str, description: str = "") -> int:
    page.get_by_role("link", name="Start a room").click()
    expect(page).to_have_url(re.compile(r"/rooms/new$"))
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def person(page: Page, where: str, name: str) -> Locator:
    """NAME's entry in the room's #stage or #audience."""
    return page.locator(f"#{where} > li.person", has_text=name)


def controls(page: Page) -> Locator:
    return page.locator("#my-controls")


def focused_name(page: Page) -> str:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            if (!e || e === document.body) return "";
            const text = e.matches("a, button") ? e.textContent : `<${e.tagName.toLowerCase()}>`;
            return (e.getAttribute("aria-label") || text).trim();
        }"""
    )


def tab_to(page: Page, pattern: str, limit: int = 40) -> None:
    """Press Tab until the focused control's name matches PATTERN."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = focused_name(page)
        seen.append(name)
        if re.search(pattern, name):
            return
    raise AssertionError(f"Tab never reached {pattern!r}; went through {seen}")


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def test_a_room_from_hallway_to_the_end(new_page: NewPage) -> None:
    host = new_page()
    sign_up(host, "hana", "Hana Host")
    room_id = start_room(host, "Night owls", "Talking about sleep")
    expect(host.locator("#room-title")).to_have_text("Night owls")
    expect(host.locator("#room-state")).to_have_text("live")
    hana_on_stage = person(host, "stage", "Hana Host")
    expect(hana_on_stage).to_be_visible()
    expect(hana_on_stage).to_contain_text("host")

    listener = new_page()
    sign_up(listener, "lou", "Lou Listener")
    card = listener.locator(f'#hallway li[data-room-id="{room_id}"]')
    expect(card).to_contain_text("Night owls")
    expect(card).to_contain_text("Live")
    expect(card).to_contain_text("Hana Host")
    card.get_by_role("link").click()
    expect(listener).to_have_url(re.compile(rf"/rooms/{room_id}$"))

    # Opening the page is joining the room, and everyone sees it without a reload.
    expect(person(listener, "audience", "Lou Listener")).to_be_visible()
    expect(person(listener, "stage", "Hana Host")).to_be_visible()
    lou_for_host = person(host, "audience", "Lou Listener")
    expect(lou_for_host).to_be_visible()
    expect(host.locator("#room-count")).to_have_text("2")

    listener.get_by_role("button", name="Raise hand").click()
    expect(lou_for_host.get_by_role("img", name="hand raised")).to_be_visible(timeout=1000)
    expect(listener.get_by_role("button", name="Lower hand")).to_be_visible()

    host.get_by_role("button", name="Invite Lou Listener to speak").click()
    expect(controls(listener)).to_contain_text("You're invited to speak.")
    expect(lou_for_host).to_contain_text("invited")
    listener.get_by_role("button", name="Join the stage").click()
    for page in (host, listener):
        expect(person(page, "stage", "Lou Listener")).to_be_visible()
        expect(person(page, "audience", "Lou Listener")).to_have_count(0)
    lou_on_stage = person(host, "stage", "Lou Listener")
    expect(lou_on_stage.get_by_role("img", name="muted")).to_be_visible()

    # Lou opens the microphone; both pages show it.
    listener.get_by_role("button", name="Unmute").click()
    expect(lou_on_stage.get_by_role("img", name="microphone on")).to_be_visible()
    expect(listener.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    expect(person(listener, "stage", "Hana Host")).to_be_visible()
    host.screenshot(path=SCREENSHOT, full_page=True)

    # A moderator's mute: Lou cannot lift it himself.
    host.get_by_role("button", name="Mute Lou Listener").click()
    expect(controls(listener)).to_contain_text("A moderator muted you.")
    expect(listener.get_by_role("button", name="Unmute")).to_be_disabled()
    expect(lou_on_stage.get_by_role("img", name="muted")).to_be_visible()
    host.get_by_role("button", name="Lift the mute on Lou Listener").click()
    expect(listener.get_by_role("button", name="Unmute")).to_be_enabled()
    expect(controls(listener)).not_to_contain_text("A moderator muted you.")

    host.get_by_role("button", name="Move Lou Listener to the audience").click()
    for page in (host, listener):
        expect(person(page, "audience", "Lou Listener")).to_be_visible()
        expect(person(page, "stage", "Lou Listener")).to_have_count(0)
    expect(listener.get_by_role("button", name="Raise hand")).to_be_visible()

    host.get_by_role("button", name="Remove Lou Listener").click()
    expect(controls(listener)).to_contain_text("You were removed from this room.")
    expect(listener.locator("#flash")).to_contain_text("You were removed from this room.")
    expect(listener.get_by_role("button", name="Join")).to_have_count(0)
    expect(person(listener, "audience", "Lou Listener")).to_have_count(0)
    expect(person(host, "audience", "Lou Listener")).to_have_count(0)
    expect(host.locator("#room-count")).to_have_text("1")

    host.get_by_role("button", name="End room").click()
    expect(controls(host)).to_contain_text("This room has ended.")
    expect(host.locator("#room-state")).to_have_text("ended")
    expect(host.locator("#stage > li")).to_have_count(0)
    # The removed listener's socket was closed with the removal: no more of this room.
    expect(controls(listener)).to_contain_text("You were removed from this room.")
    expect(listener.locator("#connection")).to_have_text("")
    expect(host.get_by_role("button", name="End room")).to_have_count(0)
    expect(host.locator("#flash")).to_be_hidden()  # none of the host's actions failed

    # The hallway no longer lists it.
    listener.goto("/")
    expect(listener.locator(f'#hallway li[data-room-id="{room_id}"]')).to_have_count(0)


def test_log_out_and_log_in(new_page: NewPage) -> None:
    page = new_page()
    sign_up(page, "ada", "Ada")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name="@ada")).to_have_count(0)

    # A page that needs an account sends you to log in, then back.
    page.goto("/rooms/new")
    expect(page).to_have_url(re.compile(r"/login\?next=/rooms/new$"))
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#flash")).to_have_text("wrong username or password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/rooms/new$"))
    expect(page.get_by_role("link", name="@ada")).to_be_visible()
    expect(page.get_by_role("heading", name="Start a room")).to_be_visible()


def test_form_errors_show_the_servers_message(new_page: NewPage, server: LiveServer) -> None:
    server.signup("taken")
    page = new_page()
    page.goto("/signup")
    username = page.get_by_label("Username")
    password = page.get_by_label("Password")
    flash = page.locator("#flash")
    username.fill("newbie")
    password.fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(flash).to_be_visible()
    expect(flash).to_contain_text("at least 8 characters")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()
    expect(username).not_to_have_attribute("aria-invalid", "true")

    username.fill("taken")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(flash).to_have_text("that username is taken")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(password).not_to_have_attribute("aria-invalid", "true")

    username.fill("fresh")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name="@fresh")).to_be_visible()


def test_schedule_a_room_then_open_it(new_page: NewPage) -> None:
    page = new_page(timezone_id="Europe/Paris")
    sign_up(page, "sam", "Sam Scheduler")
    page.get_by_role("link", name="Start a room").click()
    page.get_by_label("Title").fill("Tomorrow's talk")
    schedule_fields = page.get_by_label("Starts at")
    expect(schedule_fields).to_be_hidden()
    page.get_by_label("Schedule it for later").check()
    # 18:00 in Paris (summer time) is 16:00 UTC.
    page.get_by_label("Starts at").fill("2031-06-14T18:00")
    expect(page.locator("#tz")).to_have_text("Europe/Paris")

    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#room-state")).to_have_text("scheduled")
    expect(page.locator("#room")).to_contain_text("Jun 14")
    expect(page.locator("#room")).to_contain_text("6:00 PM")

    page.goto("/")
    card = page.locator(f'#hallway li[data-room-id="{room_id}"]')
    expect(card).to_contain_text("Tomorrow's talk")
    expect(card).to_contain_text("Scheduled")
    expect(card).to_contain_text("Sat, Jun 14, 6:00 PM")
    expect(card.locator("time")).to_have_attribute("datetime", re.compile(r"^2031-06-14T16:00"))

    # Someone else sees it scheduled, and cannot open it.
    other = new_page()
    sign_up(other, "olga", "Olga")
    other.locator(f'#hallway li[data-room-id="{room_id}"] a').click()
    expect(other.locator("#room-state")).to_have_text("scheduled")
    expect(other.get_by_role("button", name="Open the room now")).to_have_count(0)

    card.get_by_role("link").click()
    expect(page.locator("#room-state")).to_have_text("scheduled")
    page.get_by_role("button", name="Open the room now").click()
    expect(page.locator("#room-state")).to_have_text("live")
    expect(person(page, "stage", "Sam Scheduler")).to_contain_text("host")

    # Whoever was waiting on the page is let in when it opens.
    expect(other.locator("#room-state")).to_have_text("live")
    expect(person(other, "audience", "Olga")).to_be_visible()
    expect(person(page, "audience", "Olga")).to_be_visible()
    # By now each page's requests are answered; none of them failed.
    expect(page.get_by_role("button", name="End room")).to_be_visible()
    for p in (page, other):
        expect(p.locator("#flash")).to_be_hidden()


def test_room_page_on_a_phone_by_keyboard(new_page: NewPage) -> None:
    host = new_page(viewport=PHONE)
    sign_up(host, "pia", "Pia Phone")
    start_room(
        host,
        "A rather long room title that has to wrap on a narrow phone screen",
        "And a description with a long unbroken word: supercalifragilisticexpialidocious" * 2,
    )
    expect(person(host, "stage", "Pia Phone")).to_be_visible()

    listener = new_page(viewport=PHONE)
    sign_up(listener, "kai_with_a_long_username", "Kai Keyboard-Only Listener")
    listener.locator("#hallway li a").first.click()
    raise_hand = listener.get_by_role("button", name="Raise hand")
    expect(raise_hand).to_be_visible()
    expect(person(listener, "audience", "Kai Keyboard-Only Listener")).to_be_visible()
    no_horizontal_scroll(listener)

    tab_to(listener, "Raise hand")
    expect(raise_hand).to_be_focused()
    listener.keyboard.press("Enter")
    lower_hand = listener.get_by_role("button", name="Lower hand")
    expect(lower_hand).to_be_visible()
    # The page redraws on every room event; the focus stays on the same control.
    expect(lower_hand).to_be_focused()

    kai_for_host = person(host, "audience", "Kai Keyboard-Only Listener")
    expect(kai_for_host.get_by_role("img", name="hand raised")).to_be_visible()
    no_horizontal_scroll(host)
    host.locator("body").focus()
    tab_to(host, "Invite Kai Keyboard-Only Listener to speak")
    host.keyboard.press("Enter")
    expect(kai_for_host).to_contain_text("invited")
    # That button is gone; the focus stays with the same person (not on "Remove").
    expect(kai_for_host.get_by_role("link", name="Kai Keyboard-Only Listener")).to_be_focused()

    tab_to(listener, "Join the stage")
    listener.keyboard.press("Enter")
    expect(person(listener, "stage", "Kai Keyboard-Only Listener")).to_be_visible()
    # "Join the stage" is gone: the focus is on the group of one's controls, and the
    # next Tab is its first control (not a microphone switched on by a second Enter).
    expect(listener.get_by_role("group", name="Your controls")).to_be_focused()
    listener.keyboard.press("Tab")
    expect(listener.get_by_role("button", name="Unmute")).to_be_focused()
    expect(person(host, "stage", "Kai Keyboard-Only Listener")).to_be_visible()
    no_horizontal_scroll(listener)
    no_horizontal_scroll(host)


def test_the_hallway_updates_without_a_reload(new_page: NewPage) -> None:
    viewer = new_page()
    sign_up(viewer, "vera", "Vera Viewer")
    expect(viewer.locator("#hallway-rooms")).to_contain_text("No live or scheduled rooms")
    host = new_page()
    sign_up(host, "hugo", "Hugo Host")
    room_id = start_room(host, "Appears by itself", "")
    card = viewer.locator(f'#hallway li[data-room-id="{room_id}"]')
    # The hallway refreshes every 10 s while visible; no reload, no navigation.
    viewer.evaluate("window.__sameDocument = true")
    expect(card).to_contain_text("Appears by itself", timeout=15000)
    assert viewer.evaluate("window.__sameDocument") is True
    host.get_by_role("button", name="End room").click()
    expect(card).to_have_count(0, timeout=15000)
