"""The web client's federation page in Chromium: find @name@host on another instance,
follow from the remote profile, and a creator who approves followers accepts."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.chromium import log_in
from tests.helpers import PASSWORD

from ..helpers import Cluster, eventually, rows


def signed_in_page(browser: Browser, base_url: str, username: str, errors: list[str]) -> Page:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("link", name=f"@{username}")).to_be_visible()
    return page


def test_find_follow_and_accept_from_the_web_client(browser: Browser, cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    errors: list[str] = []
    bob = b.signup("bob", display_name="Bob Bebop")
    assert bob.patch("/api/me", {"bio": "Late-night talk"}).status_code == 200
    assert (
        bob.patch("/api/federation/preferences", {"manually_approves_followers": True}).status_code
        == 200
    )

    ann = signed_in_page(browser, a.url, "ann", errors)
    ann.get_by_role("link", name="Other instances").click()
    expect(ann).to_have_url(re.compile(r"/federation/search$"))
    ann.get_by_label("Handle or profile URL").fill(f"@bob@{b.host}")
    ann.get_by_role("button", name="Find").click()
    expect(ann.locator("#remote-name")).to_have_text("Bob Bebop")
    expect(ann.locator("#remote-bio")).to_have_text("Late-night talk")
    expect(ann.locator("#remote-handle")).to_contain_text(f"@bob@{b.host}")
    ann.get_by_role("button", name="Follow").click()
    expect(ann.get_by_role("button", name="Requested (cancel)")).to_be_visible()

    # Bob, on his own instance, sees the request on the same page and accepts it.
    context = browser.new_context(base_url=b.url)
    bob_page = context.new_page()
    bob_page.on("pageerror", lambda exc: errors.append(f"{bob_page.url}: {exc}"))
    log_in(bob_page, "bob")
    bob_page.goto("/federation/search")
    eventually(lambda: bob.get("/api/federation/requests").json()["requests"])
    bob_page.reload()
    expect(bob_page.locator("#follow-request-list")).to_contain_text(f"@ann@{a.host}")
    bob_page.get_by_role("button", name="Accept").click()
    expect(bob_page.locator("#follow-requests")).to_be_hidden()

    # Ann's page shows the follow once B's Accept has arrived at A.
    follow_at_a = "SELECT state FROM federation_follow WHERE direction = 'out'"
    eventually(lambda: rows(a, follow_at_a) == [("accepted",)])
    ann.reload()
    expect(ann.get_by_role("button", name="Unfollow")).to_be_visible(timeout=15_000)
    assert not errors, errors
