from .fixture import oidc_provider, oidc_redirect_uri  # noqa: F401
