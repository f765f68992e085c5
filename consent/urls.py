from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("", views.center, name="center"),
    path("purposes/<slug:purpose_key>/", views.decide, name="decide"),
    path("receipts/<uuid:event_uuid>/", views.receipt, name="receipt"),
    path("reconsent/", views.reconsent, name="reconsent"),
]
