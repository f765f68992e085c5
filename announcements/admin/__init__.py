"""Staff admin for the announcements: security incidents, transfer notices and the end of the
service (read-only). Each broadcast they send is followed on notices' broadcast pages too."""

from . import incidents, termination, transfers  # noqa: F401  (registers the model admins)
