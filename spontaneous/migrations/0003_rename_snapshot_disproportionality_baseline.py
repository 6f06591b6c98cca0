from django.db import migrations, models


class Migration(migrations.Migration):
    """The disproportionality snapshot is named for what it holds: the baseline every drug's
    pairs are compared with."""

    dependencies = [
        ("spontaneous", "0002_snapshot_method_strata"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="snapshot", name="snapshot_unique"),
        migrations.RenameModel(old_name="Snapshot", new_name="DisproportionalityBaseline"),
        migrations.AddConstraint(
            model_name="disproportionalitybaseline",
            constraint=models.UniqueConstraint(
                fields=("revision", "method"), name="disproportionality_baseline_unique"
            ),
        ),
    ]
