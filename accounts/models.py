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
        EMAIL_CONFIRMATION = "email_confirmation", _("Confirming the e-mail address")
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

    @property
    def description(self) -> str:
        """What the request did, in words (`accounts.activity`)."""
        from .activity import describe

        return describe(self.method, self.path)

    @property
    def outcome(self) -> str:
        from .activity import outcome

        return outcome(self.status_code)


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; it is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Opens the staff API (/api/v1/connectors/...) besides the holder's own data. Issued only to
    # a staff member whose session used a second factor, as the admin itself asks.
    staff_scope = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()
