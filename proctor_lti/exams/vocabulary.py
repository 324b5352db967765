"""Names shared by the student flow, the detection hand-off and review.

Behaviour metrics are what instructors weight 0 (off) to 5; every flag type and lockdown
event maps to exactly one metric, so a weight change re-scores without re-running models.
"""

BEHAVIOUR_METRICS: dict[str, str] = {
    "navigating_away": "Navigating away from the exam",
    "copy_paste": "Copy and paste",
    "browser_resize": "Browser resize",
    "audio_level": "Audio level above the room's background",
    "head_movement": "Head movement (looking away)",
    "multiple_faces": "Multiple faces",
    "multiple_persons": "Multiple persons",
    "leaving_room": "Leaving the room (face not visible)",
    "speaking": "Speaking",
}

# Detection flag types (detection.rules) -> behaviour metric.
FLAG_METRIC: dict[str, str] = {
    "no_face": "leaving_room",
    "camera_obscured": "leaving_room",
    "multiple_faces": "multiple_faces",
    "multiple_persons": "multiple_persons",
    "looking_away": "head_movement",
    "speech": "speaking",
    "audio_level": "audio_level",
}

# Lockdown events the browser reports -> behaviour metric (None: logged, not scored).
EVENT_METRIC: dict[str, str | None] = {
    "tab_hidden": "navigating_away",
    "window_blur": "navigating_away",
    "fullscreen_exit": "navigating_away",
    # The matching returns: they end the absences above (review measures how long it lasted).
    "tab_visible": None,
    "window_focus": None,
    "fullscreen_enter": None,
    "copy": "copy_paste",
    "cut": "copy_paste",
    "paste": "copy_paste",
    "context_menu": None,
    "print": None,
    "resize": "browser_resize",
    "second_screen": None,
    "screen_share_stopped": None,
    "camera_stopped": None,
    "microphone_stopped": None,
    "network_offline": None,
    "network_online": None,
    "heartbeat": None,
    # The session page started recording again for an attempt that had recorded before (a
    # reload, a closed tab, another browser): the piece in the recorder then was lost.
    "recording_resumed": None,
    # Written by the server (exams.attempts.attempt_transition), never scored.
    "status_change": None,
}

STREAM_KINDS: dict[str, str] = {
    "webcam": "Webcam and microphone",
    "screen": "Screen",
    "room_scan": "Room scan",
    "photo_id": "Photo ID",
    "camera_test": "Camera test frame",
}
