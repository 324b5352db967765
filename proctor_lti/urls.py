from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from proctor_lti.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("lti/", include("proctor_lti.lti.urls")),
    path("exams/", include("proctor_lti.exams.urls")),
    path("api/", include("proctor_lti.recordings.urls")),
    path("review/", include("proctor_lti.review.urls")),
]

if settings.DEV_LMS_ENABLED:
    urlpatterns.append(path("dev-lms/", include("proctor_lti.devlms.urls")))
