from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from reference import views as reference_views
from reference.api.views import DrugViewSet, TermSearchView

router = DefaultRouter()
router.register("drugs", DrugViewSet, basename="drug")

api_v1 = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("terms/", TermSearchView.as_view(), name="term-search"),
    *router.urls,
]

urlpatterns = [
    path("", reference_views.home, name="home"),
    path("drugs/<slug:slug>/label/", reference_views.label_detail, name="label-detail"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
