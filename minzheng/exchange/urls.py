from django.urls import path, re_path

from . import views

app_name = "exchange"
urlpatterns = [
    path("snapshots/", views.snapshots, name="snapshots"),
    path("imports/<id:pk>/", views.import_run, name="import_run"),
    path("imports/<id:pk>/progress/", views.import_progress, name="import_progress"),
    # Only names the importer writes match, so no path can leave the rejects folder.
    re_path(r"^rejects/(?P<name>[a-z_]+-[0-9a-f]{12}\.csv)$", views.rejects, name="rejects"),
    path("snapshots/<id:snapshot_id>/unmatched.xlsx", views.unmatched_report, name="unmatched"),
]
