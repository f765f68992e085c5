"""Support staff find users and view and correct profiles. Hashes and MFA secrets stay hidden.

Every page showing a user's personal data is audited (AuditedViewMixin).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.admin_tools import AuditedViewMixin, ReadOnlyInline
from core.audit import audit_append

from . import ports, services
from .models import AccessLogEntry, ApiToken, LoginEvent, Profile, User

# Actions other apps offer on the users' list (the guardianship app: flag a minor found without
# their guardian's consent), each with who may use it; registered from their admin.py.
_user_actions: list[tuple[Callable[..., Any], Callable[[HttpRequest], bool]]] = []


def user_action_register(
    action: Callable[..., Any], *, allowed: Callable[[HttpRequest], bool]
) -> None:
    """Offer `action` on the users' list to the staff for whom `allowed(request)` holds."""
    if all(registered is not action for registered, _allowed in _user_actions):
        _user_actions.append((action, allowed))


class StaffProfileForm(forms.ModelForm):
    """A profile as staff correct it: a date of birth or region that is not theirs to give (one
    that would make a staff account, or make anyone without an officer, a minor's account) is
    refused on the form, nothing is saved, and the refusal is audited."""

    actor: User | None = None  # who corrects: set per request (profile_form_for)

    class Meta:
        model = Profile
        fields = services.PROFILE_EDITABLE_FIELDS  # the admin narrows them to its own

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        changed = {"birth_date", "region"} & set(self.changed_data)
        if self.actor is None or not self.instance.pk or not changed:
            return cleaned
        refusal = ports.age_correction_refusal(
            user=self.instance.user,
            actor=self.actor,
            birth_date=cleaned.get("birth_date"),
            region=cleaned.get("region"),
        )
        if refusal is not None:
            audit_append(
                action="profile.correction_refused",
                actor_user_id=self.actor.pk,
                actor_role="staff",
                target_type="accounts.user",
                target_id=self.instance.user_id,
                data={"reason": refusal.code, "fields": sorted(changed)},
            )
            self.add_error("birth_date" if "birth_date" in changed else "region", refusal.message)
        return cleaned


def profile_form_for(request: HttpRequest) -> type[StaffProfileForm]:
    return type("StaffProfileForm", (StaffProfileForm,), {"actor": request.user})


class ProfileInline(admin.StackedInline):
    model = Profile
    form = StaffProfileForm
    can_delete = False
    extra = 0
    readonly_fields = ["updated_at"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        kwargs["form"] = profile_form_for(request)
        return super().get_formset(request, obj, **kwargs)


class LoginEventInline(ReadOnlyInline):
    model = LoginEvent
    fields = (
        "created_at",
        "method",
        "provider",
        "ip_address",
        "device",
        "browser",
        "operating_system",
    )
    readonly_fields = fields
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).order_by("-created_at")


@admin.register(User)
class UserAdmin(AuditedViewMixin, DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["id", "email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "profile__nickname", "profile__name"]
    readonly_fields = ["date_joined", "last_login"]
    # The password hash is never shown: Django's admin shows only "set/unset" and a reset link.
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Status", {"fields": ["is_active", "date_joined", "last_login"]}),
        ("Staff", {"fields": ["is_staff", "is_superuser", "groups"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = ["groups"]
    inlines = [ProfileInline, LoginEventInline]
    # Who can sign in as whom, and with which powers, is a superuser's decision only: staff
    # with "change user" (privacy officers) must not raise their own rights or take over an
    # account by changing its address or password.
    SUPERUSER_ONLY = ("email", "is_staff", "is_superuser", "groups")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None):  # type: ignore[no-untyped-def]
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            fields += [name for name in self.SUPERUSER_ONLY if name not in fields]
            if getattr(obj, "is_staff", False) or getattr(obj, "is_superuser", False):
                # Staff accounts are switched off by a superuser only: an officer must not
                # lock out a superuser or another officer.
                fields.append("is_active")
        return fields

    def get_actions(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        actions = super().get_actions(request)
        if IS_POPUP_VAR in request.GET:
            return actions
        for action, allowed in _user_actions:
            if allowed(request):
                name = action.__name__
                actions[name] = (action, name, getattr(action, "short_description", name))
        return actions

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):  # type: ignore[no-untyped-def]
        if not request.user.is_superuser:
            raise PermissionDenied("Only a superuser can set another person's password.")
        return super().user_change_password(request, id, form_url)

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:  # type: ignore[no-untyped-def]
        if formset.model is not Profile:
            return super().save_formset(request, form, formset, change)
        # What formset.save() would note, for the admin's change message (it reads them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if profile_form.has_changed() and profile_form.instance.pk:
                _correct_profile(request, profile_form)
                formset.changed_objects.append((profile_form.instance, profile_form.changed_data))
            elif profile_form.has_changed():
                formset.new_objects.append(profile_form.save())
        return None


def _correct_profile(request: HttpRequest, form) -> None:  # type: ignore[no-untyped-def]
    """A staff correction goes through the same service as the user's own edits, and is audited."""
    profile = form.instance
    services.profile_update(
        user=profile.user,
        actor=request.user,  # type: ignore[arg-type]
        data={
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.PROFILE_EDITABLE_FIELDS
        },
    )


@admin.register(Profile)
class ProfileAdmin(AuditedViewMixin, admin.ModelAdmin):
    list_display = ["user", "nickname", "region", "updated_at"]
    search_fields = ["user__email", "nickname", "name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["user", "updated_at"]
    form = StaffProfileForm

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        kwargs["form"] = profile_form_for(request)
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Profile, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if change:
            _correct_profile(request, form)
        else:
            super().save_model(request, obj, form, change)


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(AuditedViewMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "method", "path", "status_code"]
    list_filter = ["method", "status_code"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedViewMixin, admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at"]
    search_fields = ["user__email", "name", "prefix"]
    fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# allauth registers authenticators with every field shown; the secrets in `data` must never be.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AuditedViewMixin, admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
