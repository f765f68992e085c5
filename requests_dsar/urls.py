from django.urls import path

from . import views

app_name = "dsar"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("new/<slug:request_type>/", views.request_create, name="create"),
    path("<uuid:public_id>/", views.request_detail, name="detail"),
    path("<uuid:public_id>/messages/", views.request_message, name="message"),
    path("<uuid:public_id>/verify/", views.request_verify, name="verify"),
    path("<uuid:public_id>/verify/new-code/", views.request_code_resend, name="code_resend"),
    path("<uuid:public_id>/cancel/", views.request_cancel, name="cancel"),
    path("<uuid:public_id>/transfer-token/", views.transfer_token_create, name="transfer_token"),
    path("<uuid:public_id>/data/<slug:category>/", views.request_data, name="data"),
]

# Mounted at /privacy/request/ under the namespace "dsar_public": no sign-in needed.
public_urlpatterns = [
    path("", views.public_request, name="form"),
    path("verify/<uuid:public_id>/", views.public_verify, name="verify"),
]
