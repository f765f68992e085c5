"""The portal's URLs and `/bench/trivial`: a view that does nothing, the benchmark's floor."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as portal_urlpatterns


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial", trivial), *portal_urlpatterns]
