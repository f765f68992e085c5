"""What accounts announce to the apps above it."""

from __future__ import annotations

from django.dispatch import Signal

# A sign-in was recorded in the login history; sent with `event` (a LoginEvent), inside the
# sign-in's transaction (receivers defer what must wait for the commit).
login_recorded = Signal()

# Every personal API token of `user` was revoked (`count` of them) because `reason` ("your
# password was changed"); sent inside that transaction.
api_tokens_revoked = Signal()
