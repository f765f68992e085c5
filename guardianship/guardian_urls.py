from django.urls import path

from guardianship import guardian_views as views

app_name = "guardian"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:minor_id>/", views.minor_profile, name="profile"),
    path("<int:minor_id>/history/", views.minor_history, name="history"),
    path("<int:minor_id>/consents/", views.minor_consents, name="consents"),
    path(
        "<int:minor_id>/consents/<slug:purpose_key>/",
        views.minor_consent_decide,
        name="consent_decide",
    ),
    path("<int:minor_id>/requests/", views.minor_requests, name="requests"),
    path(
        "<int:minor_id>/requests/new/<slug:request_type>/",
        views.minor_request_create,
        name="request_create",
    ),
    path("<int:minor_id>/revoke/", views.minor_revoke, name="revoke"),
]
