from django.db import migrations, models


class Migration(migrations.Migration):
    """An exposure may say when the treatment ended; it cannot end before it started."""

    dependencies = [
        ("reports", "0009_verbatim_first_coding"),
    ]

    operations = [
        migrations.AddField(
            model_name="exposure",
            name="end_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="exposure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("end_date__isnull", True),
                    ("start_date__isnull", True),
                    ("end_date__gte", models.F("start_date")),
                    _connector="OR",
                ),
                name="exposure_end_after_start",
            ),
        ),
    ]
