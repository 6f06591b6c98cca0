import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Sources, products and events of spontaneous reports, beside the old columns that the
    next migration moves them from (a report's source name, a pair's drug and term)."""

    dependencies = [
        ("reference", "0005_meddra_codes_and_releases"),
        ("spontaneous", "0004_case_report_sex_values"),
    ]

    operations = [
        migrations.CreateModel(
            name="Source",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(max_length=60, unique=True)),
                ("name", models.CharField(max_length=100, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="As first reported.", max_length=300)),
                ("key", models.CharField(help_text="What makes two reported names one product of the source: for a CSV, the name in any case; for FAERS, the normalised name.", max_length=300)),
                ("drug", models.ForeignKey(blank=True, help_text="The formulary drug of this name, refreshed at each import of the source.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="spontaneous_products", to="reference.drug")),
                ("source", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="products", to="spontaneous.source")),
            ],
            options={
                "ordering": ["source", "name"],
                "indexes": [models.Index(fields=["drug"], name="spontaneous_product_drug")],
                "constraints": [models.UniqueConstraint(fields=("source", "key"), name="spontaneous_product_unique")],
            },
        ),
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="As first reported.", max_length=300)),
                ("key", models.CharField(help_text="The name's spelling-insensitive key.", max_length=300)),
                ("source", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="events", to="spontaneous.source")),
                ("term", models.ForeignKey(blank=True, help_text="The term of this name, refreshed at each import of the source.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="spontaneous_events", to="reference.term")),
            ],
            options={
                "ordering": ["source", "name"],
                "indexes": [models.Index(fields=["term"], name="spontaneous_event_term")],
                "constraints": [models.UniqueConstraint(fields=("source", "key"), name="spontaneous_event_unique")],
            },
        ),
        # The old source names stay, under another name, until the data are moved.
        migrations.RemoveConstraint(model_name="casereport", name="case_report_unique"),
        # The case's own key is named for what it is, and the source becomes a reference.
        migrations.RenameField(model_name="casereport", old_name="source_id", new_name="case_key"),
        migrations.RenameField(model_name="casereport", old_name="source", new_name="source_name"),
        migrations.RenameField(model_name="reportimport", old_name="source", new_name="source_name"),
        # Emptied or dropped by the next migrations; nullable so that they can be undone.
        migrations.AlterField(
            model_name="casereport", name="source_name", field=models.CharField(default="", max_length=100)
        ),
        migrations.AlterField(
            model_name="reportimport", name="source_name", field=models.CharField(default="", max_length=100)
        ),
        migrations.AlterField(
            model_name="casereportpair",
            name="drug",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="reference.drug"),
        ),
        migrations.AlterField(
            model_name="casereportpair",
            name="term",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="reference.term"),
        ),
        migrations.AlterField(
            model_name="casereportpair",
            name="batch",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.reportimport"),
        ),
        migrations.AddField(
            model_name="disproportionalitybaseline",
            name="source",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="baselines", to="spontaneous.source"),
        ),
        migrations.AddField(
            model_name="casereport",
            name="source",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="case_reports", to="spontaneous.source"),
        ),
        migrations.AddField(
            model_name="reportimport",
            name="source",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="imports", to="spontaneous.source"),
        ),
        migrations.AddField(
            model_name="casereportpair",
            name="product",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.product"),
        ),
        migrations.AddField(
            model_name="casereportpair",
            name="event",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.event"),
        ),
    ]
