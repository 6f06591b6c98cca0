from django.db import models


class Role(models.TextChoices):
    NURSE = "nurse", "Nurse"
    SAFETY_OFFICER = "safety_officer", "Safety officer"
    ADMIN = "admin", "Administrator"
