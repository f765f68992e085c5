from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from consent import cookie_views, signup_views
from guardianship import minor_urls
from relatives.urls import after_death_urlpatterns
from requests_dsar.urls import public_urlpatterns

from . import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/minor/", include("guardianship.minor_urls")),
    path(
        "accounts/guardian-consent/",
        include((minor_urls.invitation_urlpatterns, "guardian_invitation")),
    ),
    path("accounts/signup/choices/", signup_views.signup_choices, name="signup_choices"),
    path("accounts/signup/", signup_views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("dashboard/consent/", include("consent.urls")),
    path("dashboard/inbox/", include("notices.urls")),
    path("dashboard/guardian/", include("guardianship.guardian_urls")),
    path("dashboard/after-death/", include((after_death_urlpatterns, "dsar_after_death"))),
    path("dashboard/", include("accounts.urls")),
    path("files/", include("requests_dsar.download_urls")),
    path("dashboard/requests/", include("requests_dsar.urls")),
    path("privacy/request/deceased/", include("relatives.urls")),
    path("privacy/request/", include((public_urlpatterns, "dsar_public"))),
    path("privacy/cookies/", include("consent.cookie_urls")),
    path("privacy/", include("consent.public_urls")),
    path(".well-known/gpc.json", cookie_views.gpc_json, name="gpc-json"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("config.api", "api"), namespace="api")),
    # Public only where API_DOCS_PUBLIC says (off in production): else for signed-in people.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[views.ApiDocsReader]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[views.ApiDocsReader]
        ),
        name="api-docs",
    ),
]

# Django renders templates/404.html, 403.html and 400.html itself; the 500 page needs its own view.
handler500 = "config.views.server_error"
