"""A close relative's pages, mounted at /privacy/request/deceased/ (no sign-in), and the user's
own arrangement, mounted at /dashboard/after-death/."""

from django.urls import path

from . import downloads, views

app_name = "dsar_relatives"

urlpatterns = [
    path("", views.relative_request, name="form"),
    path("verify/<uuid:public_id>/", views.relative_verify, name="verify"),
    path(
        "verify/<uuid:public_id>/new-code/",
        views.relative_code_resend,
        name="code_resend",
    ),
    path("copy/<str:token>/", downloads.relative_archive_download, name="archive"),
]

# Mounted under the namespace "dsar_after_death".
after_death_urlpatterns = [
    path("", views.after_death_edit, name="edit"),
]
