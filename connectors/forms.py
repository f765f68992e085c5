"""Admin forms: configuring a connected system (checked against the real system before it is
saved), excepting a job, completing a manual task. Secrets are write-only fields."""

from __future__ import annotations

import re
from typing import Any

import yaml
from django import forms
from django.core.exceptions import ValidationError

from core import uploads
from requests_dsar.models import RequestType

from . import configuration, db_connector
from .mapping import load_text, parse_mapping
from .models import ConnectedSystem, Identifier, Kind, ManualTask, RequesterReason
from .services import JOB_TYPES

_CATEGORY = re.compile(r"^[a-z0-9_]{1,40}$")


def _mapping_as_text(mapping: dict[str, Any]) -> str:
    if not mapping:
        return ""
    return yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)


class ConnectedSystemForm(forms.ModelForm):
    categories_text = forms.CharField(
        label="Personal-data categories",
        help_text="Comma-separated, e.g. play_history, purchases (lower case, digits, _).",
        required=False,
    )
    request_types = forms.MultipleChoiceField(
        choices=[(t, label) for t, label in RequestType.choices if t in JOB_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="The request types this system is in scope for.",
    )
    identifiers = forms.MultipleChoiceField(
        choices=Identifier.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What it knows the subject by. Only these are sent to it.",
    )
    url = forms.URLField(
        label="URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="HTTP connectors: where jobs are POSTed (HTTPS in production).",
    )
    new_secret = forms.CharField(
        label="New shared secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    drop_previous_secret = forms.BooleanField(
        label="Stop accepting the previous secret",
        required=False,
        help_text="Once the system signs with the current secret only.",
    )
    dsn = forms.CharField(
        label="New DSN",
        required=False,
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="postgresql://user:password@host:5432/database — write-only; leave empty to "
        "keep the stored one. Use a role that can read and change only the mapped tables.",
    )
    mapping_text = forms.CharField(
        label="Mapping (YAML or JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "cols": 90, "spellcheck": "false"}),
        help_text="See docs/connector-protocol.md, “Database mappings”.",
    )
    sample_identifier = forms.CharField(
        label="Sample identifier for the dry run",
        required=False,
        max_length=254,
        help_text="Optional: an identifier value to count the rows each table would export or "
        "erase. Used once for counting, never stored.",
    )

    class Meta:
        model = ConnectedSystem
        fields = [
            "key",
            "name",
            "owner_team",
            "description",
            "kind",
            "enabled",
            "purposes",
            "third_party",
            "url",
            "timeout_seconds",
            "max_attempts",
            "retry_base_seconds",
            "failure_threshold",
            "cooldown_seconds",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        system: ConnectedSystem = self.instance
        self.dry_run: db_connector.DryRunReport | None = None
        self.parsed_mapping: dict[str, Any] | None = None
        if not self.is_bound:
            self.initial["categories_text"] = ", ".join(system.categories or [])
            self.initial["request_types"] = list(system.request_types or [])
            self.initial["identifiers"] = list(system.identifiers or [])
            self.initial["mapping_text"] = _mapping_as_text(system.mapping or {})
        next_id = f"{system.key or '<key>'}.{system.secret_version + 1}"
        kept = "Leave empty to keep the current one. " if system.secret_encrypted else ""
        self.fields["new_secret"].help_text = (
            f"HTTP connectors. {kept}Write-only: never shown again. It becomes the current "
            f"secret with key id “{next_id}” (configure the system with both first); the "
            "current one stays accepted as the previous. A fresh random one you may use: "
            f"{configuration.suggested_secret()}"
        )

    def clean_categories_text(self) -> list[str]:
        raw = self.cleaned_data.get("categories_text") or ""
        categories = [c.strip() for c in re.split(r"[,\s]+", raw) if c.strip()]
        bad = [c for c in categories if not _CATEGORY.match(c)]
        if bad:
            raise ValidationError(
                "Categories are lower-case letters, digits and _ (at most 40): "
                + ", ".join(bad[:5])
            )
        return sorted(set(categories))

    def clean_mapping_text(self) -> dict[str, Any] | None:
        text = self.cleaned_data.get("mapping_text") or ""
        return load_text(text) if text.strip() else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        kind = cleaned.get("kind")
        try:
            configuration.validate_request_types(kind or "", cleaned.get("request_types", []))
        except ValidationError as exc:
            self.add_error("request_types", exc)
        if cleaned.get("new_secret"):
            try:
                configuration.validate_secret(cleaned["new_secret"])
            except ValidationError as exc:
                self.add_error("new_secret", exc)
        if cleaned.get("dsn"):
            try:
                db_connector.check_dsn(cleaned["dsn"])
            except ValidationError as exc:
                self.add_error("dsn", exc)
        if self.errors:
            return cleaned
        if kind == Kind.HTTP:
            self._clean_http(cleaned)
        elif kind == Kind.DATABASE:
            self._clean_database(cleaned)
        return cleaned

    def _clean_http(self, cleaned: dict[str, Any]) -> None:
        system: ConnectedSystem = self.instance
        if not cleaned.get("url"):
            self.add_error("url", "An HTTP connector needs the system's URL.")
            return
        secret, version = cleaned.get("new_secret"), system.secret_version + 1
        if not secret and system.secret_encrypted:
            secret = configuration.system_keys(system)[system.key_id]
            version = system.secret_version
        if not secret:
            self.add_error("new_secret", "An HTTP connector needs a shared secret.")
            return
        if not cleaned.get("enabled"):
            return  # a disabled system may be down: it is checked when enabled again
        key = cleaned.get("key") or system.key
        try:
            configuration.check_http(
                cleaned["url"],
                secret=secret,
                key_id=f"{key}.{version}",
                timeout=cleaned.get("timeout_seconds") or 10,
            )
        except ValidationError as exc:
            self.add_error("url", exc)

    def _clean_database(self, cleaned: dict[str, Any]) -> None:
        system: ConnectedSystem = self.instance
        mapping = cleaned.get("mapping_text")
        if not mapping:
            self.add_error("mapping_text", "A database connector needs a mapping.")
            return
        dsn = cleaned.get("dsn") or ""
        if not dsn and system.dsn_encrypted:
            from .vault import unseal

            dsn = unseal(system.dsn_encrypted)
        if not dsn:
            self.add_error("dsn", "A database connector needs a DSN.")
            return
        self.parsed_mapping = mapping
        if not cleaned.get("enabled"):
            # Not tried against the database (it may be down), but its shape is still checked.
            try:
                parse_mapping(mapping, identifiers=cleaned.get("identifiers", []))
            except ValidationError as exc:
                self.add_error("mapping_text", exc)
            return
        sample_value = cleaned.get("sample_identifier") or ""
        sample = {kind: sample_value for kind in Identifier.values} if sample_value else None
        try:
            _mapping, self.dry_run = configuration.check_database(
                dsn,
                mapping,
                identifiers=cleaned.get("identifiers", []),
                categories=cleaned.get("categories_text", []),
                sample=sample,
            )
        except ValidationError as exc:
            field = "dsn" if "DSN" in " ".join(exc.messages) else "mapping_text"
            self.add_error(field, exc)

    def apply_to_instance(self) -> ConnectedSystem:
        """Put the non-model fields into the instance (the service seals the secrets)."""
        system: ConnectedSystem = self.instance
        system.categories = self.cleaned_data.get("categories_text", [])
        system.request_types = list(self.cleaned_data.get("request_types", []))
        system.identifiers = list(self.cleaned_data.get("identifiers", []))
        if self.cleaned_data.get("kind") == Kind.DATABASE and self.parsed_mapping is not None:
            system.mapping = self.parsed_mapping
        return system


class ExceptJobForm(forms.Form):
    reason = forms.CharField(
        label="Why is this system excepted from the request? (for staff)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Kept with the request as the record of the decision. The requester never "
        "sees it.",
    )
    requester_reason = forms.ChoiceField(
        label="What the requester is told",
        choices=RequesterReason.choices,
        widget=forms.RadioSelect,
        help_text="Shown in the requester's copy where this system's part would be.",
    )
    requester_text = forms.CharField(
        label="In your own words (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Replaces the sentence above in the requester's copy. Name no one else and "
        "no internal detail.",
    )


class ManualTaskCompleteForm(forms.ModelForm):
    result_file = forms.FileField(
        required=False,
        label="Result file",
        help_text=f"{uploads.ACCEPTED_DESCRIPTION}; encrypted at rest.",
    )
    note = forms.CharField(
        required=False,
        max_length=5000,
        label="Confirmation note",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="What was done (counts, a reference), never the person's data.",
    )

    class Meta:
        model = ManualTask
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("result_file")
        if upload is not None:
            try:
                uploads.validate_upload(upload)
            except ValidationError as exc:
                self.add_error("result_file", exc)
        if upload is None and not (cleaned.get("note") or "").strip():
            raise ValidationError("Attach the result or write a confirmation note.")
        return cleaned
