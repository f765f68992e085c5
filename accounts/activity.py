"""The activity log in words: what a logged request did, as the person reads it.

The log keeps the method, the address (without its query string) and the status code; the
dashboard and the guardian's view show what that was ("Saved the profile", "Done") instead of
`POST /dashboard/profile/ 302`. The export keeps the raw fields.
"""

from __future__ import annotations

from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

# view name -> (what opening it is, what sending it is)
PAGES = {
    "home": (_("Opened the home page"), None),
    "dashboard:home": (_("Opened the dashboard"), None),
    "dashboard:profile": (_("Opened the profile"), _("Saved the profile")),
    "dashboard:security": (_("Opened the security settings"), _("Changed a security setting")),
    "dashboard:history": (_("Opened the history"), None),
    "dashboard:token_create": (_("Opened the new API token page"), _("Created an API token")),
    "dashboard:token_revoke": (None, _("Revoked an API token")),
    "consent:center": (_("Opened the consents"), None),
    "consent:decide": (None, _("Changed a consent")),
    "consent:receipt": (_("Downloaded a consent receipt"), None),
    "consent:reconsent": (_("Opened the policy change"), _("Made the consent choices again")),
    "cookies:settings": (_("Opened the cookie settings"), _("Saved the cookie choices")),
    "cookies:conflicts": (_("Opened the cookie question"), _("Chose which cookie choice applies")),
    "dsar:list": (_("Opened the requests page"), None),
    "dsar:new": (_("Opened the new request page"), None),
    "dsar:create": (_("Opened a request form"), _("Filed a request")),
    "dsar:detail": (_("Opened a request"), None),
    "dsar:message": (None, _("Wrote about a request")),
    "dsar:verify": (_("Opened a request's confirmation"), _("Confirmed a request")),
    "dsar:code_resend": (None, _("Asked for a new code")),
    "dsar:cancel": (None, _("Cancelled a request")),
    "dsar:data": (_("Looked at the data online"), None),
    "notices:inbox": (_("Opened the inbox"), None),
    "notices:message": (_("Opened a message"), None),
    "notices:preferences": (
        _("Opened the e-mail preferences"),
        _("Saved the e-mail preferences"),
    ),
    "notices:respond": (None, _("Answered a notice")),
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def describe(method: str, path: str) -> str:
    """What the request was, in words; a generic sentence for an address not listed."""
    writing = method.upper() in WRITES
    if path.startswith("/api/"):
        return str(_("Changed something through the API") if writing else _("Read through the API"))
    if path.startswith("/accounts/"):
        return str(
            _("Signed in or out, or changed the sign-in") if writing else _("Opened a sign-in page")
        )
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    opened, sent = PAGES.get(match.view_name, (None, None)) if match else (None, None)
    words = sent if writing else opened
    if words is not None:
        return str(words)
    return str(_("Sent a form") if writing else _("Opened a page"))


def outcome(status_code: int) -> str:
    if status_code < 400:
        return str(_("Done"))
    if status_code in (401, 403):
        return str(_("Not allowed"))
    if status_code == 404:
        return str(_("Not found"))
    if status_code < 500:
        return str(_("Refused: the form had a problem"))
    return str(_("Failed on our side"))
