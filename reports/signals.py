"""What the reports app tells the apps that listen, without knowing them (detection queues a
run for the report's drug)."""

from django.dispatch import Signal

# Sent with report=<the Report> once the transaction that filed, followed up, voided or
# decided on it has committed: a listener never sees a report that was rolled back.
report_committed = Signal()
