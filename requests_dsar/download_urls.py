"""Files served to their owner: export archives behind signed links (mounted at /files/)."""

from django.urls import path

from . import downloads

app_name = "dsar_files"

urlpatterns = [
    path("exports/<str:token>/", downloads.archive_download, name="archive"),
]
