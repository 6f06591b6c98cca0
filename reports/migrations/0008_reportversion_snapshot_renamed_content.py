from django.db import migrations


class Migration(migrations.Migration):
    """A report version holds the report's content as it read in that version; the column is
    named for that. Only the name changes: no row is rewritten."""

    dependencies = [
        ("reports", "0007_redundant_foreign_key_indexes"),
    ]

    operations = [
        migrations.RenameField(
            model_name="reportversion",
            old_name="snapshot",
            new_name="content",
        ),
    ]
