from django.urls import path

from . import views_api, views_staff, views_student

app_name = "exams"

_a = "attempts/<int:attempt_id>"
urlpatterns = [
    # Instructor pages
    path("<int:exam_id>/settings/", views_staff.exam_settings, name="settings"),
    path("<int:exam_id>/accommodations/", views_staff.accommodations, name="accommodations"),
    path(
        "<int:exam_id>/accommodations/<int:accommodation_id>/delete",
        views_staff.accommodation_delete,
        name="accommodation_delete",
    ),
    path("<int:exam_id>/canvas-code/", views_staff.canvas_code_set, name="canvas_code_set"),
    path("<int:exam_id>/reentry/", views_staff.reentry_approve, name="reentry_approve"),
    path("create/<int:resource_link_id>/", views_staff.exam_create_here, name="create_here"),
    # Student pages
    path(f"{_a}/", views_student.before, name="before"),
    path(f"{_a}/prechecks/", views_student.prechecks, name="prechecks"),
    path(f"{_a}/agreement/", views_student.agreement, name="agreement"),
    path(f"{_a}/session/", views_student.session, name="session"),
    path(f"{_a}/start-assessment/", views_student.start_assessment, name="start_assessment"),
    path(f"{_a}/done/", views_student.done, name="done"),
    path("accessibility/", views_student.accessibility, name="accessibility"),
    # JSON endpoints of the student pages
    path(f"{_a}/checks/<str:check>", views_api.check_record, name="check_record"),
    path(f"{_a}/checks/<str:check>/continue", views_api.check_continue, name="check_continue"),
    path(f"{_a}/frames/<str:kind>", views_api.frame_submit, name="frame_submit"),
    path(f"{_a}/frames/<int:frame_id>/result", views_api.frame_result, name="frame_result"),
    path(f"{_a}/speedtest", views_api.speedtest, name="speedtest"),
    path(f"{_a}/heartbeat", views_api.heartbeat, name="heartbeat"),
    path(f"{_a}/access-code", views_api.access_code, name="access_code"),
    path(f"{_a}/end", views_api.end, name="end"),
    path("csrf", views_api.csrf, name="csrf"),
    path(
        "preferences/high-visibility", views_api.pref_high_visibility, name="pref_high_visibility"
    ),
]
