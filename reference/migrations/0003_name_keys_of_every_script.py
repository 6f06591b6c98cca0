"""Recompute the stored key of every term name with the key function that keeps the letters
of every script (it used to drop every non-ASCII character, so "тошнота" had an empty key)."""

from django.db import migrations

from reference.normalize import name_key

KIND_ORDER = {"name": 0, "synonym": 1, "lay": 2}


def recompute_keys(apps, schema_editor):
    TermName = apps.get_model("reference", "TermName")
    names = sorted(
        TermName.objects.only("pk", "term_id", "text", "key", "kind"),
        key=lambda n: (n.term_id, KIND_ORDER.get(n.kind, 3), n.pk),
    )
    taken = set()
    changed, redundant = [], []
    for name in names:
        key = name_key(name.text)
        # Two writings of one term that now share a key ("Anaemia", "Anæmia") are one
        # name: the better kind is kept. A name with no letter or digit keeps its empty key,
        # which names nothing.
        if key and (name.term_id, key) in taken:
            redundant.append(name.pk)
            continue
        taken.add((name.term_id, key))
        if key != name.key:
            name.key = key
            changed.append(name)
    TermName.objects.filter(pk__in=redundant).delete()
    # Through placeholders (no real key has a "~"), so that no row takes a key another
    # row still holds before its own update: (term, key) is unique.
    final = {name.pk: name.key for name in changed}
    for name in changed:
        name.key = f"~{name.pk}"
    TermName.objects.bulk_update(changed, ["key"], batch_size=1000)
    for name in changed:
        name.key = final[name.pk]
    TermName.objects.bulk_update(changed, ["key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("reference", "0002_consumer_band_null_shipped_label"),
    ]

    operations = [migrations.RunPython(recompute_keys, migrations.RunPython.noop)]
