import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def copy_from_reports(apps, schema_editor):
    Reaction = apps.get_model("reports", "Reaction")
    Report = apps.get_model("reports", "Report")
    report = Report.objects.filter(pk=OuterRef("report_id"))
    Reaction.objects.update(
        drug_id=Subquery(report.values("drug_id")[:1]),
        patient_id=Subquery(report.values("patient_id")[:1]),
    )
    Reaction.objects.filter(
        Q(report__is_void=True) | Q(report__duplicate_status="confirmed")
    ).update(counted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("reference", "0002_consumer_band_null_shipped_label"),
        ("reports", "0002_exposure_from_report"),
    ]

    operations = [
        migrations.AddField(
            model_name="reaction",
            name="counted",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="reaction",
            name="drug",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="reference.drug",
            ),
        ),
        migrations.AddField(
            model_name="reaction",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="reports.patient",
            ),
        ),
        migrations.RunPython(copy_from_reports, migrations.RunPython.noop),
    ]
