from django.urls import path

from . import exports, views

app_name = "review"
urlpatterns = [
    path("", views.exam_index, name="index"),
    path("exams/<int:exam_id>/", views.exam_overview, name="exam"),
    path("exams/<int:exam_id>/roster", views.roster_refresh, name="roster_refresh"),
    path("exams/<int:exam_id>/export.csv", exports.exam_export_csv, name="exam_csv"),
    path("attempts/<int:attempt_id>/", views.attempt_page, name="attempt"),
    path("attempts/<int:attempt_id>/report", views.incident_report, name="report"),
    path("attempts/<int:attempt_id>/notes", views.note_add, name="note_add"),
    path("attempts/<int:attempt_id>/outcome", views.outcome_set, name="outcome"),
    path("attempts/<int:attempt_id>/acs", views.acs_action, name="acs"),
    path("flags/<int:flag_id>/decision", views.flag_decision, name="flag_decision"),
    path("evidence/<int:evidence_id>", views.evidence_image, name="evidence"),
    path("my/attempts/<int:attempt_id>/", views.my_attempt, name="my_attempt"),
    path("my/evidence/<int:evidence_id>", views.my_evidence_image, name="my_evidence"),
]
