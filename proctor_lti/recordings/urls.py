from django.urls import path

from . import api, playback

app_name = "recordings"

_stream = "attempts/<int:attempt_id>/streams/<str:kind>"
urlpatterns = [
    path("attempts/<int:attempt_id>/upload-token", api.UploadTokenView.as_view(),
         name="upload_token"),
    path(f"{_stream}/chunks", api.ChunkListView.as_view(), name="chunks"),
    path(f"{_stream}/chunks/<str:seq>", api.ChunkView.as_view(), name="chunk"),
    path("attempts/<int:attempt_id>/events", api.EventsView.as_view(), name="events"),
    path(f"{_stream}/segments", playback.SegmentListView.as_view(), name="segments"),
    path(f"{_stream}/segments/<int:index>/media", playback.MediaView.as_view(),
         name="segment_media"),
    path(f"{_stream}/media", playback.MediaView.as_view(), name="media"),
    path("attempts/<int:attempt_id>/evidence", playback.ThumbnailView.as_view(),
         name="evidence"),
]
