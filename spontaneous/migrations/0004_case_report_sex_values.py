from django.db import migrations, models

# The stored values of a spontaneous report's sex become those the product records for a
# patient; the disproportionality baselines stratified by sex key their strata by them too.
NEW_VALUES = {"F": "female", "M": "male", "": "unknown"}
OLD_VALUES = {new: old for old, new in NEW_VALUES.items()}
# A baseline keyed the strata of reports without a sex "unknown" already.
NEW_STRATA = {"F": "female", "M": "male"}
OLD_STRATA = {new: old for old, new in NEW_STRATA.items()}


def _recode(apps, values, strata):
    CaseReport = apps.get_model("spontaneous", "CaseReport")
    for old, new in values.items():
        CaseReport.objects.filter(sex=old).update(sex=new)
    Baseline = apps.get_model("spontaneous", "DisproportionalityBaseline")
    for baseline in Baseline.objects.exclude(strata={}):
        baseline.strata = {strata.get(key, key): value for key, value in baseline.strata.items()}
        baseline.save(update_fields=["strata"])


def forwards(apps, schema_editor):
    _recode(apps, NEW_VALUES, NEW_STRATA)


def backwards(apps, schema_editor):
    _recode(apps, OLD_VALUES, OLD_STRATA)


class Migration(migrations.Migration):
    dependencies = [
        ("spontaneous", "0003_rename_snapshot_disproportionality_baseline"),
    ]

    operations = [
        migrations.AlterField(
            model_name="casereport",
            name="sex",
            field=models.CharField(
                choices=[("female", "Female"), ("male", "Male"), ("unknown", "Unknown")],
                default="unknown",
                help_text=(
                    "As the product records a patient's sex; the import reads other spellings."
                ),
                max_length=10,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
