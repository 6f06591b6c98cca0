from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "surveillance"
    verbose_name = "Signal detection and review"

    def ready(self) -> None:
        from reports.services import report_committed_hooks

        from .triggers import on_report_committed

        report_committed_hooks.append(on_report_committed)
