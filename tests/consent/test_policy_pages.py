"""The public policy pages: current and past versions, the diff, purposes and the SDK list."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.models import LegalBasis, Purpose, ThirdParty
from consent.policies import render_policy
from tests.consent.policy_factories import TEXT, draft, first_and_second, published

pytestmark = pytest.mark.django_db

NEW_TEXT = TEXT.replace("Your e-mail address.", "Your e-mail address and your location.")


def page(url: str) -> str:
    response = Client().get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- The policy and its versions ----------------------------------------------------------------


def test_current_policy_shows_its_version_and_dates():
    published(
        "3.1",
        last_updated=datetime.date(2023, 6, 1),
        effective_on=datetime.date(2023, 6, 8),
    )
    html = page(reverse("privacy:policy"))
    assert "3.1" in html
    assert '<time datetime="2023-06-01">1 June 2023</time>' in html
    assert '<time datetime="2023-06-08">8 June 2023</time>' in html


def test_current_policy_is_rendered_from_markdown():
    published("1.0")
    html = page(reverse("privacy:policy"))
    assert '<h2 id="section-who-we-are">Who we are</h2>' in html


def test_a_long_policy_has_contents_linking_to_each_section():
    text = "".join(
        f"## Part {n}: rules & more\n\nText {n}.\n\n### Detail {n}\n\nMore.\n\n" for n in (1, 2, 3)
    )
    published("1.0", text=text)
    html = page(reverse("privacy:policy"))
    contents = html[
        html.index('aria-labelledby="h-toc"') : html.index("</nav>", html.index("h-toc"))
    ]
    assert '<a href="#section-part-1-rules-more">Part 1: rules &amp; more</a>' in contents
    assert '<li class="sub"><a href="#section-detail-2">Detail 2</a></li>' in contents
    # Every link of the contents leads to a heading of the text.
    for anchor in re.findall(r'href="#([^"]+)"', contents):
        assert f'id="{anchor}"' in html


def test_policy_text_cannot_give_an_element_an_id_of_its_own():
    html = str(render_policy('<p id="main">x</p>\n\n## Heading\n'))
    assert 'id="main"' not in html
    assert 'id="section-heading"' in html


def test_a_short_policy_has_no_contents():
    published("1.0")
    assert 'aria-labelledby="h-toc"' not in page(reverse("privacy:policy"))


def test_rendering_strips_script_and_inline_event_handlers():
    hostile = (
        "Hello <script>alert(1)</script>\n\n"
        '<img src="x.png" onerror="alert(2)"> <a href="#" onclick="alert(3)">link</a>\n\n'
        "[click](javascript:alert(4))\n"
    )
    html = str(render_policy(hostile))
    assert "<script" not in html
    assert "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html


def test_hostile_policy_text_is_served_harmless():
    published("1.0", text="Hi <script>alert(1)</script> <b onmouseover=alert(2)>there</b>\n")
    html = page(reverse("privacy:policy"))
    assert "<script>alert" not in html
    assert "onmouseover" not in html


def test_draft_is_not_the_current_policy():
    published("1.0")
    draft("2.0", text="Secret draft text")
    html = page(reverse("privacy:policy"))
    assert "Secret draft text" not in html


def test_draft_version_page_is_404():
    published("1.0")
    draft("2.0")
    assert Client().get(reverse("privacy:policy_version", args=["2.0"])).status_code == 404


def test_versions_list_shows_published_versions_only():
    first_and_second(second_text=NEW_TEXT)
    draft("3.0-draft")
    html = page(reverse("privacy:policy_versions"))
    assert "Version 1.0" in html and "Version 2.0" in html
    assert "3.0-draft" not in html


def test_no_policy_yet_is_404():
    draft("1.0")
    assert Client().get(reverse("privacy:policy")).status_code == 404


def test_past_version_says_it_is_replaced_and_links_the_current_one():
    first_and_second(second_text=NEW_TEXT)
    html = page(reverse("privacy:policy_version", args=["1.0"]))
    assert "Replaced" in html
    assert "Read the current policy (version 2.0)" in html


def test_announced_version_is_shown_on_the_current_policy():
    three_days_ago = timezone.localdate() - datetime.timedelta(days=3)
    published("1.0", last_updated=three_days_ago, effective_on=three_days_ago)
    published(
        "2.0",
        text=NEW_TEXT,
        effective_on=timezone.localdate() + datetime.timedelta(days=14),
        is_material=True,
        summary_of_changes="Location is new.",
    )
    html = page(reverse("privacy:policy"))
    assert "Version</dt><dd>1.0" in html
    assert "A new version takes effect on" in html
    assert "Location is new." in html


# --- The diff -----------------------------------------------------------------------------------


def test_diff_marks_added_and_removed_lines_in_words_not_colour_only():
    first_and_second(second_text=NEW_TEXT)
    html = page(reverse("privacy:policy_diff") + "?from=1.0&to=2.0")
    assert re.search(r"Removed</span>\s*<del>Your e-mail address\.</del>", html)
    assert re.search(r"Added</span>\s*<ins>Your e-mail address and your location\.</ins>", html)
    assert "1 line added, 1 line removed" in html


def test_diff_without_parameters_compares_the_two_newest_versions():
    first_and_second(second_text=NEW_TEXT)
    html = page(reverse("privacy:policy_diff"))
    assert "<ins>Your e-mail address and your location.</ins>" in html


def test_diff_with_a_draft_is_404():
    published("1.0")
    draft("2.0", text=NEW_TEXT)
    response = Client().get(reverse("privacy:policy_diff") + "?from=1.0&to=2.0")
    assert response.status_code == 404


def test_diff_folds_long_unchanged_passages():
    long_text = "\n\n".join(f"Paragraph {n}." for n in range(20)) + "\n"
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    published("1.0", text=long_text, last_updated=month_ago, effective_on=month_ago)
    published("2.0", text=long_text.replace("Paragraph 19.", "Paragraph nineteen."))
    html = page(reverse("privacy:policy_diff") + "?from=1.0&to=2.0")
    assert "17 unchanged lines not shown" in html
    assert "Paragraph 3." not in html


# --- Purposes and the SDK list ------------------------------------------------------------------


@pytest.fixture
def catalogue():
    sdk = ThirdParty.objects.create(
        key="pay-sdk",
        name="Pay SDK",
        description="Takes payments.",
        data_received="Payment account and status.",
        privacy_policy_url="https://pay.example.com/privacy",
        country="NL",
        opt_out="Do not buy through the app.",
    )
    purpose = Purpose.objects.create(
        key="payments",
        name="Payments",
        description="To let you buy things.",
        legal_basis=LegalBasis.CONTRACT,
        pii_categories=["7 - Financial"],
    )
    purpose.third_parties.add(sdk)
    return purpose, sdk


def test_sdk_list_shows_what_each_sdk_receives_and_why(catalogue):
    html = page(reverse("privacy:third_parties"))
    for text in ("Pay SDK", "Takes payments.", "Payment account and status.", "Netherlands"):
        assert text in html
    assert 'href="https://pay.example.com/privacy"' in html
    assert "Do not buy through the app." in html
    assert f'href="{reverse("privacy:purpose", args=["payments"])}"' in html


def test_purposes_page_links_their_third_parties(catalogue):
    html = page(reverse("privacy:purposes"))
    assert "Needed for the service you asked for" in html
    assert "7 - Financial" in html
    assert f'href="{reverse("privacy:third_parties")}#sdk-pay-sdk"' in html


def test_purpose_page_shows_its_details(catalogue):
    html = page(reverse("privacy:purpose", args=["payments"]))
    assert "To let you buy things." in html
    assert "Pay SDK" in html


def test_inactive_purposes_and_sdks_are_not_listed(catalogue):
    purpose, sdk = catalogue
    Purpose.objects.filter(pk=purpose.pk).update(active=False)
    ThirdParty.objects.filter(pk=sdk.pk).update(active=False)
    assert Client().get(reverse("privacy:purpose", args=["payments"])).status_code == 404
    assert "Pay SDK" not in page(reverse("privacy:third_parties"))


# --- Every page: reachable from the footer, no inline script or style ---------------------------


def test_footer_links_the_policy_and_the_sdk_list():
    html = page(reverse("landing"))
    assert f'href="{reverse("privacy:policy")}"' in html
    assert f'href="{reverse("privacy:third_parties")}"' in html


def test_public_pages_have_no_inline_script_or_style(catalogue):
    first_and_second(second_text=NEW_TEXT)
    urls = [
        reverse("privacy:policy"),
        reverse("privacy:policy_versions"),
        reverse("privacy:policy_version", args=["1.0"]),
        reverse("privacy:policy_diff") + "?from=1.0&to=2.0",
        reverse("privacy:third_parties"),
        reverse("privacy:purposes"),
        reverse("privacy:purpose", args=["payments"]),
    ]
    for url in urls:
        html = page(url)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), url
