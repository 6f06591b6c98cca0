import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A disproportionality signal names the source of spontaneous reports it was found in;
    the same drug and term may be a signal in each source."""

    dependencies = [
        ("spontaneous", "0005_sources_products_events"),
        ("surveillance", "0008_one_active_manual_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="signal",
            name="source",
            field=models.ForeignKey(
                blank=True,
                help_text="Disproportionality: the database of spontaneous reports it was found in.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="signals",
                to="spontaneous.source",
            ),
        ),
        migrations.RemoveConstraint(model_name="signal", name="signal_identity"),
        migrations.AddConstraint(
            model_name="signal",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source__isnull", True)),
                fields=("drug", "term", "kind"),
                name="signal_identity",
            ),
        ),
        migrations.AddConstraint(
            model_name="signal",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source__isnull", False)),
                fields=("drug", "term", "kind", "source"),
                name="signal_identity_in_source",
            ),
        ),
    ]
