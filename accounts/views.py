from django.contrib.auth.views import LoginView
from django.shortcuts import resolve_url

from .choices import Role


class SignInView(LoginView):
    """Sign-in that lands each role on its own work: officers on the signal dashboard, the
    others on LOGIN_REDIRECT_URL. A safe `next` still wins."""

    def get_default_redirect_url(self) -> str:
        if getattr(self.request.user, "role", None) == Role.SAFETY_OFFICER:
            return resolve_url("signal-dashboard")
        return super().get_default_redirect_url()
