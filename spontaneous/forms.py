from __future__ import annotations

import zipfile
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from .faers_load import DEFAULT_ROLES

ROLE_CHOICES = [
    ("PS", "PS: primary suspect"),
    ("SS", "SS: secondary suspect"),
    ("C", "C: concomitant"),
    ("I", "I: interacting"),
]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files from one file input."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[Any]]:
        single = super().clean
        if isinstance(data, list | tuple):
            if not data:
                return [single(None, initial)]
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class FaersUploadForm(forms.Form):
    quarters = MultipleFileField(
        label="FAERS quarterly files",
        help_text="One or more quarterly ASCII zip files as FDA publishes them "
        "(faers_ascii_2024q1.zip; legacy aers_ascii_2012q1.zip).",
        error_messages={"required": "Choose at least one FAERS quarterly zip file."},
        widget=MultipleFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    roles = forms.MultipleChoiceField(
        label="Drug roles counted",
        choices=ROLE_CHOICES,
        initial=list(DEFAULT_ROLES),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one drug role (PS and SS are usual)."},
    )

    def clean_quarters(self) -> list[UploadedFile[Any]]:
        files: list[UploadedFile[Any]] = self.cleaned_data["quarters"]
        limit_mb = settings.FAERS_UPLOAD_MAX_MB
        errors = []
        for upload in files:
            name = upload.name or "the file"
            if upload.size is not None and upload.size > limit_mb * 1_000_000:
                errors.append(
                    f"{name} is {upload.size / 1_000_000:.0f} MB; files up to {limit_mb} MB "
                    "are accepted."
                )
            elif not zipfile.is_zipfile(upload):
                errors.append(
                    f"{name} is not a zip file: upload a FAERS quarterly ASCII zip file as "
                    "FDA publishes it."
                )
            upload.seek(0)
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean_roles(self) -> list[str]:
        chosen = set(self.cleaned_data["roles"])
        return [code for code, _ in ROLE_CHOICES if code in chosen]
