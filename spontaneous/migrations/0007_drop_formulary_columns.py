import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Reports, imports and pairs hold their source, product and event only; the columns
    they were moved from go, with the import counts of drugs and terms created (imports no
    longer create any). FAERS cases gain their version, date and outcomes."""

    dependencies = [
        ("spontaneous", "0006_move_imports_out_of_the_formulary"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="casereportpair", name="case_pair_unique"),
        migrations.RemoveIndex(model_name="casereportpair", name="case_pair_drug_term"),
        migrations.RemoveIndex(model_name="casereportpair", name="case_pair_term"),
        migrations.RemoveField(model_name="casereportpair", name="drug"),
        migrations.RemoveField(model_name="casereportpair", name="term"),
        migrations.RemoveField(model_name="casereportpair", name="batch"),
        migrations.AlterField(
            model_name="casereportpair",
            name="product",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.product"),
        ),
        migrations.AlterField(
            model_name="casereportpair",
            name="event",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.event"),
        ),
        migrations.AddConstraint(
            model_name="casereportpair",
            constraint=models.UniqueConstraint(fields=("report", "product", "event"), name="case_pair_unique"),
        ),
        migrations.AddIndex(
            model_name="casereportpair",
            index=models.Index(fields=["product", "event", "report"], name="case_pair_product_event"),
        ),
        migrations.AddIndex(
            model_name="casereportpair",
            index=models.Index(fields=["event", "report"], name="case_pair_event"),
        ),
        migrations.RemoveField(model_name="casereport", name="source_name"),
        migrations.AlterField(
            model_name="casereport",
            name="source",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="case_reports", to="spontaneous.source"),
        ),
        migrations.AlterField(
            model_name="casereport",
            name="case_key",
            field=models.CharField(help_text="The case's key in its source (FAERS: the caseid; a legacy AERS case: L and its case number, a key space of its own).", max_length=64),
        ),
        migrations.AlterField(
            model_name="casereport",
            name="batch",
            field=models.ForeignKey(help_text="The import of the version kept.", on_delete=django.db.models.deletion.PROTECT, related_name="case_reports", to="spontaneous.reportimport"),
        ),
        migrations.AddField(
            model_name="casereport",
            name="version",
            field=models.PositiveIntegerField(default=0, help_text="The source's version of the case (FAERS caseversion)."),
        ),
        migrations.AddField(
            model_name="casereport",
            name="fda_dt",
            field=models.DateField(blank=True, help_text="When FDA received this version.", null=True, verbose_name="FDA date"),
        ),
        migrations.AddField(
            model_name="casereport",
            name="outcomes",
            field=models.CharField(blank=True, help_text="The case's outcome codes, space-separated (DE HO).", max_length=40),
        ),
        migrations.AddField(
            model_name="casereport",
            name="serious",
            field=models.BooleanField(default=False, help_text="Whether any outcome is recorded."),
        ),
        migrations.AddField(
            model_name="casereport",
            name="deleted_by",
            field=models.ForeignKey(blank=True, help_text="The import whose DELETE list removed the case: its pairs are gone.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="spontaneous.reportimport"),
        ),
        migrations.AddConstraint(
            model_name="casereport",
            constraint=models.UniqueConstraint(fields=("source", "case_key"), name="case_report_unique"),
        ),
        migrations.RemoveField(model_name="reportimport", name="source_name"),
        migrations.RemoveField(model_name="reportimport", name="drugs_created"),
        migrations.RemoveField(model_name="reportimport", name="terms_created"),
        migrations.AlterField(
            model_name="reportimport",
            name="source",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="imports", to="spontaneous.source"),
        ),
        migrations.AddField(
            model_name="reportimport",
            name="kind",
            field=models.CharField(choices=[("csv", "CSV of report, drug and event"), ("faers", "FAERS quarterly extract")], default="csv", max_length=10),
        ),
        migrations.AddField(
            model_name="reportimport",
            name="summary",
            field=models.JSONField(blank=True, default=dict, help_text="What the import read and did (FAERS: quarter, layout, read, kept, superseded, deleted)."),
        ),
        migrations.AlterModelOptions(
            name="disproportionalitybaseline", options={"ordering": ["source", "-revision"]}
        ),
        migrations.RemoveConstraint(
            model_name="disproportionalitybaseline", name="disproportionality_baseline_unique"
        ),
        migrations.RemoveField(model_name="disproportionalitybaseline", name="drug_reports"),
        migrations.RenameField(
            model_name="disproportionalitybaseline", old_name="term_reports", new_name="event_reports"
        ),
        migrations.AlterField(
            model_name="disproportionalitybaseline",
            name="event_reports",
            field=models.JSONField(default=dict, help_text="Reports per event id."),
        ),
        migrations.AlterField(
            model_name="disproportionalitybaseline",
            name="strata",
            field=models.JSONField(default=dict, help_text="When stratified: per stratum, its reports and its reports per event."),
        ),
        migrations.AlterField(
            model_name="disproportionalitybaseline",
            name="revision",
            field=models.PositiveIntegerField(help_text="The source's last import the counts include."),
        ),
        migrations.AlterField(
            model_name="disproportionalitybaseline",
            name="method",
            field=models.CharField(default="", help_text="The settings it was computed with: the truncation N*, the strata, and whether serious cases only.", max_length=60),
        ),
        migrations.AlterField(
            model_name="disproportionalitybaseline",
            name="source",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="baselines", to="spontaneous.source"),
        ),
        migrations.AddConstraint(
            model_name="disproportionalitybaseline",
            constraint=models.UniqueConstraint(fields=("source", "revision", "method"), name="disproportionality_baseline_unique"),
        ),
    ]
