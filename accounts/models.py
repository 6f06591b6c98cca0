from django.contrib.auth.models import AbstractUser
from django.db import models

from .choices import Role


class Site(models.Model):
    """A hospital or ward that files reports; nurses see their own site's reports only."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """An account with a role in the safety process and, for nurses, a site."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.NURSE)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    signals_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a safety officer last opened the signal dashboard."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_nurse(self) -> bool:
        return self.role == Role.NURSE

    @property
    def is_safety_officer(self) -> bool:
        return self.role == Role.SAFETY_OFFICER


def is_officer(user: object) -> bool:
    """Safety officers and administrators see every site's reports."""
    return getattr(user, "role", None) in {Role.SAFETY_OFFICER, Role.ADMIN}
