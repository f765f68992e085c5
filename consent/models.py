"""Policy versions, purposes, third parties (the SDK list), the consent ledger, disclosures.

The ledger is append-only and hash-chained per subject. A subject is a user or an anonymous
visitor (cookie choices), named by a pseudonymous key, so the proof of consent can outlive an
erasure while the IP address and user agent collected with it (kept apart, in
ConsentEventContext) are erased.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from core.append_only import AppendOnlyModel


class PolicyVersionQuerySet(models.QuerySet):
    """Bulk writes cannot reach a published version either (PostgreSQL also refuses them)."""

    def update(self, **kwargs: object) -> int:
        if self.filter(status=PolicyVersion.Status.PUBLISHED).exists():
            raise PermissionError("A published policy version cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(status=PolicyVersion.Status.PUBLISHED).exists():
            raise PermissionError("A published policy version cannot be deleted.")
        return super().delete()


class PolicyVersion(models.Model):
    """One version of the privacy policy. Published versions never change.

    A draft becomes published only through `consent.policies.policy_publish`.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    version = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200, default="Privacy Policy")
    text = models.TextField(help_text=_("Markdown."))
    summary_of_changes = models.TextField(blank=True)
    last_updated = models.DateField()
    effective_on = models.DateField()
    is_material = models.BooleanField(
        default=False, help_text=_("Material changes ask every user to consent again.")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_on", "-published_at"]
        permissions = [("publish_policyversion", "Can publish a policy version")]

    def __str__(self) -> str:
        return f"{self.title} {self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Judged by the stored row, not this instance: publishing a draft is the one change
        # allowed, and it happens through a conditional update in policy_publish.
        if self.pk is not None and self._stored_is_published():
            raise PermissionError("A published policy version cannot be changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        if self.pk is not None and self._stored_is_published():
            raise PermissionError("A published policy version cannot be deleted.")
        return super().delete(*args, **kwargs)  # type: ignore[arg-type]

    def _stored_is_published(self) -> bool:
        return PolicyVersion._base_manager.filter(pk=self.pk, status=self.Status.PUBLISHED).exists()

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class ThirdParty(models.Model):
    """An entry of the policy's "List of Third-Party SDK"."""

    key = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(help_text=_("What it does for the service."))
    data_received = models.TextField(help_text=_("Which personal information it receives."))
    privacy_policy_url = models.URLField()
    country = CountryField(blank=True)
    opt_out = models.TextField(blank=True, help_text=_("How a user can opt out."))
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "third parties"

    def __str__(self) -> str:
        return self.name


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Your consent")
    CONTRACT = "contract", _("Needed for the service you asked for")
    LEGAL_OBLIGATION = "legal_obligation", _("A legal obligation")
    VITAL_INTEREST = "vital_interest", _("Protecting someone's vital interests")
    PUBLIC_INTEREST = "public_interest", _("A task in the public interest")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Our legitimate interest")


class Purpose(models.Model):
    """Why personal information is processed. Only consent-based purposes can be optional."""

    key = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField()
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices)
    is_optional = models.BooleanField(default=False)
    # Kantara Consent Receipt v1.1 PII categories, e.g. "2 - Contact", "15 - Behavioural".
    pii_categories = models.JSONField(default=list, blank=True)
    kantara_purpose_category = models.CharField(max_length=100, blank=True)
    third_parties = models.ManyToManyField(ThirdParty, blank=True, related_name="purposes")
    offered_to_minors = models.BooleanField(default=True)
    # Cookie banner category for purposes decided there: "analytics", "advertising" or "".
    cookie_category = models.CharField(max_length=20, blank=True)
    # Refused by a browser's Global Privacy Control signal (sale, sharing, advertising).
    refused_by_gpc = models.BooleanField(default=False)
    introduced_in = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_optional=False) | models.Q(legal_basis="consent"),
                name="purpose_optional_only_by_consent",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            stored = Purpose.objects.filter(pk=self.pk).values_list("key", flat=True).first()
            if stored is not None and stored != self.key:
                # Ledger hashes and other services' checks name purposes by key.
                raise ValueError("A purpose's key cannot change once it exists.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Decision(models.TextChoices):
    GIVEN = "given", _("Given")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class Method(models.TextChoices):
    SIGNUP_FORM = "signup_form", _("Sign-up form")
    CONSENT_CENTER = "consent_center", _("Consent center")
    COOKIE_BANNER = "cookie_banner", _("Cookie banner")
    GPC_SIGNAL = "gpc_signal", _("Global Privacy Control signal")
    GUARDIAN = "guardian", _("Guardian")
    API = "api", _("API")
    RECONSENT_PROMPT = "reconsent_prompt", _("Re-consent after a policy change")
    REQUEST = "request", _("Withdrawal request")
    INBOX_NOTICE = "inbox_notice", _("Answer to a notice in the inbox")


class ConsentActor(models.TextChoices):
    SELF = "self", _("You")
    GUARDIAN = "guardian", _("Your guardian")
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System")


class ConsentEvent(AppendOnlyModel):
    """One decision about one purpose by one subject. Append-only, hash-chained per subject."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject_key = models.CharField(max_length=80, db_index=True)
    seq = models.PositiveIntegerField()
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=20, choices=Method.choices)
    actor = models.CharField(max_length=10, choices=ConsentActor.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)  # no FK: never rewritten
    created_at = models.DateTimeField(default=timezone.now)
    # When the person made the decision, if before it was recorded: a cookie choice made on this
    # device while signed out, carried into the account at sign-in. Empty otherwise (made now).
    decided_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the person made the decision, if before it was recorded: a cookie choice "
            "made on this device while signed out, carried into the account at sign-in. "
            "Empty when it was made as recorded."
        ),
    )
    # The purpose as it stood when the decision was made (what the receipt shows), hashed with
    # the event. Empty on events recorded before it was kept: their receipts show today's.
    purpose_snapshot = models.JSONField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    append_only_name = "The consent ledger"

    class Meta:
        ordering = ["subject_key", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["subject_key", "seq"], name="consent_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.purpose_id} #{self.seq}"

    @property
    def made_at(self) -> datetime.datetime:
        """When the person decided: what "a later decision" compares, and what receipts show."""
        return self.decided_at or self.created_at


class ConsentEventContext(models.Model):
    """Where an event was collected (IP address, user agent): personal data, erasable."""

    event = models.OneToOneField(ConsentEvent, on_delete=models.CASCADE, related_name="context")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    def __str__(self) -> str:
        return f"Context of consent event #{self.event_id}"


class ConsentChainHead(models.Model):
    """The last hash and sequence of one subject's chain, locked while appending."""

    subject_key = models.CharField(max_length=80, unique=True)
    last_hash = models.CharField(max_length=64)
    last_seq = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Consent chain head of {self.subject_key}"


class Disclosure(models.Model):
    """A sharing of a user's personal information with a third party: who, when, what, why."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="disclosures"
    )
    third_party = models.ForeignKey(ThirdParty, on_delete=models.PROTECT, related_name="+")
    purpose = models.ForeignKey(
        Purpose, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data_categories = models.JSONField(default=list)
    occurred_at = models.DateTimeField(default=timezone.now)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"Disclosure #{self.pk}"


class ServiceToken(models.Model):
    """A token another service of the company uses for the consent check API (stored hashed)."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text=_('e.g. ["consent:check"]'))
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
