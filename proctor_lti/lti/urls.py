"""Routes under /lti/. Append-friendly: one path() per line, services views in views_services."""

from django.urls import path

from . import views

app_name = "lti"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("jwks/", views.jwks, name="jwks"),
]

# --- LTI services (deep linking, Dynamic Registration, Canvas JSON): views_services.py ---
from . import views_services  # noqa: E402

urlpatterns += [
    path("register/", views_services.register, name="register"),
    path("canvas.json", views_services.canvas_json, name="canvas_json"),
    path("deep-linking/", views_services.deep_linking_submit, name="deep_linking_submit"),
]
