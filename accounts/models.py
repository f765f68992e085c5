"""Users, their profiles ("Edit Your Profile"), login and device history, and the access log."""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

OLDEST_PLAUSIBLE_AGE_YEARS = 125


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. The e-mail address is the login; there is no username."""

    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[var-annotated]  # the e-mail is all createsuperuser asks

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return f"User #{self.pk}"

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


def validate_birth_date(value: datetime.date) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError(_("Date of birth cannot be in the future."), code="future")
    if value.year < today.year - OLDEST_PLAUSIBLE_AGE_YEARS:
        raise ValidationError(
            _("Please enter a real date of birth (within the last %(n)s years)."),
            params={"n": OLDEST_PLAUSIBLE_AGE_YEARS},
            code="implausible",
        )


class Profile(models.Model):
    """What the user fills in under "Edit Your Profile". Every field but the user is optional."""

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        NON_BINARY = "non_binary", _("Non-binary")
        OTHER = "other", _("Another gender")
        UNDISCLOSED = "undisclosed", _("Prefer not to say")

    class AfterDeath(models.TextChoices):
        DELETE = "delete", _("Delete everything")
        RELATIVES_COPY = "relatives_copy", _("My close relatives may have a copy, then delete")
        RELATIVES_DECIDE = "relatives_decide", _("My close relatives may decide")

    class Education(models.TextChoices):
        PRIMARY = "primary", _("Primary school")
        SECONDARY = "secondary", _("Secondary school")
        VOCATIONAL = "vocational", _("Vocational training")
        BACHELOR = "bachelor", _("Bachelor's degree or equivalent")
        MASTER = "master", _("Master's degree or equivalent")
        DOCTORATE = "doctorate", _("Doctorate")
        OTHER = "other", _("Other")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    name = models.CharField(_("name"), max_length=150, blank=True)
    nickname = models.CharField(_("nickname"), max_length=50, blank=True)
    occupation = models.CharField(_("occupation / industry"), max_length=100, blank=True)
    signature = models.CharField(_("personal signature"), max_length=200, blank=True)
    gender = models.CharField(_("gender"), max_length=20, choices=Gender.choices, blank=True)
    birth_date = models.DateField(
        _("date of birth"), null=True, blank=True, validators=[validate_birth_date]
    )
    region = CountryField(_("country / region"), blank=True)
    education = models.CharField(
        _("educational background"), max_length=20, choices=Education.choices, blank=True
    )
    bio = models.TextField(_("about you"), max_length=2000, blank=True)
    # Set by a "restrict" or "withdraw consent" request: optional processing (profiling,
    # personalized content, marketing) stops for this user until they turn it on again.
    optional_processing_stopped_at = models.DateTimeField(null=True, blank=True)
    # The user's own arrangement for after their death, honoured when a relative's case is
    # reviewed (blank: none made, the relatives' request decides).
    after_death = models.CharField(
        _("after my death"), max_length=20, choices=AfterDeath.choices, blank=True
    )
    # Set when a relative's case is approved: the account is locked, nothing more is collected.
    memorialized_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    gender__in=["", "female", "male", "non_binary", "other", "undisclosed"]
                ),
                name="profile_gender_known",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    education__in=[
                        "",
                        "primary",
                        "secondary",
                        "vocational",
                        "bachelor",
                        "master",
                        "doctorate",
                        "other",
                    ]
                ),
                name="profile_education_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of user #{self.user_id}"


class LoginEvent(models.Model):
    """One successful sign-in: when, from where, on what device, and how."""

    class Method(models.TextChoices):
        PASSWORD = "password", _("Password")
        THIRD_PARTY = "third_party", _("Third-party account")
        MFA = "mfa", _("Password + second factor")
        CODE = "code", _("E-mail code")
        OTHER = "other", _("Other")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_events")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=100, blank=True)
    browser = models.CharField(max_length=100, blank=True)
    operating_system = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    provider = models.CharField(max_length=50, blank=True)
    # When the "new sign-in" notice went out (None: not needed yet or not sent yet).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"Login #{self.pk}"


class AccessLogEntry(models.Model):
    """An authenticated request, kept as the policy's "Log Information".

    Query strings are never stored: they may carry tokens or search terms.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_log")
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField()
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "access log entries"
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"Access #{self.pk}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; it is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


# --- Minors and guardians ------------------------------------------------------------------


class MinorAccount(models.Model):
    """A user below the age at which their region lets them consent alone, and where the
    guardian's approval stands. Ends (status `ended`) when they reach that age."""

    class Status(models.TextChoices):
        AWAITING_GUARDIAN = "awaiting_guardian", _("Waiting for a guardian's approval")
        ACTIVE = "active", _("Approved by a guardian")
        SUSPENDED = "suspended", _("Suspended (no guardian approval in force)")
        ERASING = "erasing", _("Being erased (declined or no decision)")
        ENDED = "ended", _("Guardianship ended (came of age)")

    class Reason(models.TextChoices):
        SIGNUP = "signup", _("Date of birth given at sign-up")
        PROFILE = "profile", _("Date of birth changed in the profile")
        STAFF = "staff", _("Staff found a minor without guardian consent")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="minor_account")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_GUARDIAN, db_index=True
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    # The region and threshold that made them a minor (the table may change later).
    region = models.CharField(max_length=8, blank=True)
    age_threshold = models.PositiveSmallIntegerField()
    # The day they reach the threshold: the daily sweep ends the guardianship then.
    adult_on = models.DateField(db_index=True)
    # Without a guardian's approval by then, the account is erased.
    decide_by = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The recorded `delete` request (actor system) that erases a declined or expired account.
    erasure_request = models.ForeignKey(
        "requests_dsar.DataSubjectRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"Minor account of user #{self.user_id}"

    @property
    def needs_guardian(self) -> bool:
        return self.status in {self.Status.AWAITING_GUARDIAN, self.Status.SUSPENDED}


class Guardianship(models.Model):
    """A guardian's invitation, verification and approval for one minor.

    At most one guardianship per minor is live (invited, being verified or approved)."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invitation sent")
        CONFIRMING = "confirming", _("Waiting for the second confirmation")
        IN_REVIEW = "in_review", _("Document waiting for staff review")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Approval revoked")
        EXPIRED = "expired", _("No decision in time")
        ENDED = "ended", _("Ended (the minor came of age)")

    class Method(models.TextChoices):
        EMAIL_PLUS = "email_plus", _("E-mail plus a delayed second confirmation")
        DOCUMENT = "document", _("Signed consent form or ID document reviewed by staff")
        PROVIDER = "provider", _("Verification provider (card transaction or ID check)")

    LIVE_STATUSES = ("invited", "confirming", "in_review", "approved")

    minor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="guardianships_as_minor")
    guardian = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="guardianships"
    )
    # Where the invitation went (what the minor typed).
    guardian_email = models.EmailField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.INVITED, db_index=True
    )
    verification_method = models.CharField(max_length=12, choices=Method.choices, blank=True)
    # A provider's own reference for its check (no card number or ID number is ever stored).
    provider_reference = models.CharField(max_length=100, blank=True)
    # Makes each invitation link single-use: a new invitation gets a new nonce.
    invitation_nonce = models.CharField(max_length=43)
    invited_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_confirmed_at = models.DateTimeField(null=True, blank=True)
    second_confirmation_after = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-invited_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["minor"],
                condition=models.Q(status__in=["invited", "confirming", "in_review", "approved"]),
                name="one_live_guardianship_per_minor",
            ),
            models.CheckConstraint(
                condition=~models.Q(guardian=models.F("minor")),
                name="guardian_is_not_the_minor",
            ),
        ]

    def __str__(self) -> str:
        return f"Guardianship #{self.pk}"


class GuardianDocument(models.Model):
    """A guardian's uploaded consent form or ID, encrypted at rest, deleted after review."""

    guardianship = models.ForeignKey(
        Guardianship, on_delete=models.CASCADE, related_name="documents"
    )
    storage_name = models.CharField(max_length=300)
    key_id = models.CharField(max_length=40)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted = models.BooleanField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"Guardian document #{self.pk}"
