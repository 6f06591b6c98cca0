import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from 0003, so that PostgreSQL has committed its data before the tables change."""

    dependencies = [
        ("reference", "0002_consumer_band_null_shipped_label"),
        ("reports", "0003_reaction_drug_patient_counted"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reaction",
            name="drug",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="reference.drug",
            ),
        ),
        migrations.AlterField(
            model_name="reaction",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="reports.patient",
            ),
        ),
        migrations.AddIndex(
            model_name="reaction",
            index=models.Index(
                condition=models.Q(("counted", True)),
                fields=["drug", "term"],
                include=["patient", "grade", "serious", "outcome"],
                name="reaction_counted_drug_term",
            ),
        ),
    ]
