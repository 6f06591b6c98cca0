from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "surveillance"
    verbose_name = "Signal detection and review"

    def ready(self) -> None:
        from reports.signals import report_committed

        from .triggers import on_report_committed

        report_committed.connect(on_report_committed, dispatch_uid="detection-on-new-reports")
