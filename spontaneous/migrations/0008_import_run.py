import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """FAERS imports started from the spontaneous sources page: their files, progress and
    outcome."""

    dependencies = [
        ("spontaneous", "0007_drop_formulary_columns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "files",
                    models.JSONField(
                        default=list, help_text="The names of the files, as uploaded."
                    ),
                ),
                (
                    "folder",
                    models.CharField(
                        help_text="Where the files wait, under SPONTANEOUS_UPLOAD_DIR; deleted when the run ends.",
                        max_length=200,
                    ),
                ),
                ("files_deleted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "roles",
                    models.CharField(
                        default="PS,SS",
                        help_text="The drug roles counted as the case's products.",
                        max_length=20,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        db_index=True,
                        default="queued",
                        max_length=10,
                    ),
                ),
                (
                    "files_done",
                    models.PositiveSmallIntegerField(
                        default=0, help_text="Files imported (or found imported before) so far."
                    ),
                ),
                (
                    "results",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Per file imported: its name, quarter, import id, and whether it had been imported before (nothing changed).",
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "imports",
                    models.ManyToManyField(
                        blank=True, related_name="runs", to="spontaneous.reportimport"
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]
