from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.mark_all_read, name="read_all"),
    path("incident/", views.latest_incident, name="latest_incident"),
    path("preferences/", views.preferences, name="preferences"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("<int:pk>/action/", views.message_action, name="action"),
    path("<int:pk>/respond/", views.message_respond, name="respond"),
]
