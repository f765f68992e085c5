import json
import os

from oauth2_provider.oauth2_validators import OAuth2Validator

# Claims that are not stored on Django's User; run_idp.py may override them via IDP_EXTRA_CLAIMS.
DEFAULT_EXTRA_CLAIMS = {
    "gender": "female",
    "locale": "de-DE",
    "zoneinfo": "Europe/Berlin",
    "address": {"country": "DE"},
}


def extra_claims() -> dict:
    return {**DEFAULT_EXTRA_CLAIMS, **json.loads(os.environ.get("IDP_EXTRA_CLAIMS") or "{}")}


class ClaimsValidator(OAuth2Validator):
    """Hands over the standard claims; which ones depends on ``oidc_claim_scope``."""

    def get_additional_claims(self):
        # The request-agnostic form also lists these claims in discovery's claims_supported.
        claims = {
            "email": lambda r: r.user.email,
            "email_verified": lambda r: True,
            "name": lambda r: r.user.get_full_name() or r.user.get_username(),
            "given_name": lambda r: r.user.first_name,
            "family_name": lambda r: r.user.last_name,
            "nickname": lambda r: r.user.get_username(),
            "preferred_username": lambda r: r.user.get_username(),
        }
        for key, value in extra_claims().items():
            claims[key] = value
        return claims
