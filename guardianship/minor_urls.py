"""URLs of the guardian consent flow. Both live under /accounts/, beside sign-in and sign-out:
nothing there waits for a consent choice (the re-consent prompt leaves them alone)."""

from django.urls import path

from guardianship import minor_views as views

app_name = "minor"

# /accounts/minor/: the minor's waiting page.
urlpatterns = [
    path("", views.waiting, name="waiting"),
]

# /accounts/guardian-consent/, namespace "guardian_invitation": the guardian's pages.
invitation_urlpatterns = [
    path("i/<str:token>/", views.invitation, name="open"),
    path("confirm/<str:token>/", views.approve_by_link, name="approve"),
    path("<int:pk>/", views.status, name="status"),
    path("<int:pk>/approve/", views.approve_verified, name="approve_verified"),
    path("<int:pk>/provider/", views.provider_start, name="provider_start"),
    path("<int:pk>/provider/return/", views.provider_return, name="provider_return"),
]
