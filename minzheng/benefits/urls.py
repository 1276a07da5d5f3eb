from django.urls import path

from . import views

app_name = "benefits"
urlpatterns = [
    path("", views.county, name="county"),
    path("runs/<id:pk>/", views.run_detail, name="run"),
    path("runs/<id:pk>/progress/", views.run_progress_view, name="run_progress"),
    path("rolls/<id:pk>/", views.roll_detail, name="roll"),
    path("rolls/<id:pk>/approve/", views.roll_approve, name="roll_approve"),
    path("rolls/<id:pk>/export/", views.roll_export, name="roll_export"),
    path("rolls/<id:pk>/return/", views.roll_return, name="roll_return"),
    path("lines/<id:pk>/resolve/", views.line_resolve, name="line_resolve"),
    path("lines/<id:pk>/account/", views.correct_account, name="correct_account"),
    path("followup/", views.followup, name="followup"),
    path("reviews/", views.review_queue, name="reviews"),
    path("tables/<slug:table>.xlsx", views.table_xlsx, name="table_xlsx"),
    path("cases/<id:pk>/review-notice.pdf", views.review_notice, name="review_notice"),
]

public_urlpatterns = [
    path("public/roll/<str:region_code>/<str:month>/", views.public_roll, name="public_roll"),
]
