from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from accounts import views as account_views
from accounts.api import views as account_api
from core.views import ApiDocsView
from e2b import api as e2b_api
from e2b import views as e2b_views
from reference import views as reference_views
from reference.api.views import DrugViewSet, TermSearchView, drug_listedness, term_criteria
from reports import coding_views
from reports import views as report_views
from reports.api.views import CodingView, ExposureViewSet, ReportViewSet
from spontaneous import views as spontaneous_views
from surveillance import views as surveillance_views
from surveillance.api.disproportionality import DrugDisproportionalityView
from surveillance.api.views import SignalRunViewSet, SignalViewSet

router = DefaultRouter()
router.register("drugs", DrugViewSet, basename="drug")
router.register("reports", ReportViewSet, basename="report")
router.register("exposures", ExposureViewSet, basename="exposure")
router.register("signals", SignalViewSet, basename="signal")
router.register("signal-runs", SignalRunViewSet, basename="signal-run")

api_v1 = [
    path("auth/token/", account_api.obtain_token, name="api-token"),
    path("me/", account_api.me, name="me"),
    path("terms/", TermSearchView.as_view(), name="term-search"),
    path("coding/", CodingView.as_view(), name="coding"),
    path("terms/criteria/", term_criteria, name="term-criteria"),
    path("drugs/<slug:slug>/listedness/", drug_listedness, name="drug-listedness"),
    path(
        "drugs/<slug:slug>/disproportionality/",
        DrugDisproportionalityView.as_view(),
        name="drug-disproportionality",
    ),
    path("reports/<int:pk>/e2b/", e2b_api.report_e2b, name="report-e2b"),
    path("icsr/", e2b_api.icsr_receive, name="icsr"),
    *router.urls,
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

urlpatterns = [
    path("", reference_views.home, name="home"),
    path("drugs/<slug:slug>/label/", reference_views.label_detail, name="label-detail"),
    path("reports/", report_views.report_list, name="report-list"),
    path("reports/new/", report_views.report_new, name="report-new"),
    path("reports/<int:pk>/", report_views.report_detail, name="report-detail"),
    path(
        "reports/<int:pk>/follow-up/", report_views.report_follow_up_view, name="report-follow-up"
    ),
    path(
        "reports/<int:pk>/versions/<int:number>/",
        report_views.report_version,
        name="report-version",
    ),
    path("reports/<int:pk>/void/", report_views.report_void_view, name="report-void"),
    path("reports/<int:pk>/recode/", coding_views.report_recode_view, name="report-recode"),
    path("coding/", coding_views.coding_queue_page, name="coding-queue"),
    path("reports/expedited/", coding_views.expedited_due_page, name="expedited-due"),
    path(
        "reports/expedited/e2b.xml",
        e2b_views.expedited_e2b_download,
        name="expedited-due-e2b",
    ),
    path("reports/<int:pk>/e2b.xml", e2b_views.report_e2b_download, name="report-e2b-download"),
    path(
        "reports/<int:pk>/duplicate/",
        report_views.report_duplicate_view,
        name="report-duplicate",
    ),
    path("exposures/", report_views.exposure_register_view, name="exposure-register"),
    path("surveillance/runs/", surveillance_views.runs_page, name="detection-runs"),
    path("surveillance/signals/", surveillance_views.dashboard, name="signal-dashboard"),
    path(
        "surveillance/signals/seen/",
        surveillance_views.dashboard_mark_seen,
        name="signal-mark-seen",
    ),
    path("surveillance/signals/<int:pk>/", surveillance_views.signal_page, name="signal-page"),
    path("surveillance/signals.csv", surveillance_views.dashboard_csv, name="signal-csv"),
    path("surveillance/drugs/<slug:slug>/", surveillance_views.drug_page, name="drug-overview"),
    path(
        "surveillance/drugs/<slug:slug>/disproportionality/",
        surveillance_views.drug_disproportionality_page,
        name="drug-overview-disproportionality",
    ),
    path(
        "surveillance/signals/<int:pk>/cases.csv",
        surveillance_views.signal_cases_csv,
        name="signal-cases-csv",
    ),
    path("spontaneous/", spontaneous_views.sources_page, name="spontaneous-sources"),
    path(
        "spontaneous/runs/<int:pk>/progress/",
        spontaneous_views.import_run_progress,
        name="spontaneous-run-progress",
    ),
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
]
