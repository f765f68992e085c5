"""Public pages about the policy, mounted at /privacy/ (namespace "privacy")."""

from django.urls import path

from . import public_views

app_name = "privacy"

urlpatterns = [
    path("policy/", public_views.policy_current, name="policy"),
    path("policy/versions/", public_views.policy_versions, name="policy_versions"),
    path("policy/diff/", public_views.policy_diff, name="policy_diff"),
    path("policy/<str:version>/", public_views.policy_version, name="policy_version"),
    path("third-parties/", public_views.third_parties, name="third_parties"),
    path("purposes/", public_views.purposes, name="purposes"),
    path("purposes/<slug:key>/", public_views.purpose_detail, name="purpose"),
]
