from django.urls import path

from . import service_views, views

app_name = "devlms"
urlpatterns = [
    path("", views.home, name="home"),
    path("launch/", views.launch, name="launch"),
    path("auth", views.auth, name="auth"),
    path("jwks", service_views.jwks, name="jwks"),
    path("token", service_views.token, name="token"),
    path("nrps/<str:context_id>/memberships", service_views.nrps, name="nrps"),
    path("acs/", service_views.acs, name="acs"),
    path("deep-link/return/", service_views.deep_link_return, name="deep_link_return"),
    path("proctoring/start-assessment/", service_views.start_assessment,
         name="start_assessment"),
    path("proctoring/<int:session_id>/", service_views.assessment, name="assessment"),
    path("proctoring/<int:session_id>/end/", service_views.assessment_end,
         name="assessment_end"),
    path("proctoring/<int:session_id>/finished/", service_views.assessment_finished,
         name="assessment_finished"),
    path("quiz/<slug:slug>/", views.quiz, name="quiz"),
]
