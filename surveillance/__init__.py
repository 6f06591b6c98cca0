"""Signal detection and review.

A detection run (services) takes each drug in turn, usually on a worker (tasks): rules
evaluates it into findings (the label tests and unlisted reactions from the counts in
selectors, disproportionality from findings_disproportionality against the snapshot of
the spontaneous reports), and signal_updates writes them as signals. wording says what a
finding means; review records the officers' decisions on signals. stats and
disproportionality are the statistics alone, without Django.

Dependencies point one way: reference <- reports, spontaneous <- surveillance.
"""
