from django.urls import path

from . import views

app_name = "checks"
urlpatterns = [
    # 核对报告, the household's authorisation and window check, batch re-checks (views.py)
    path("results/<id:pk>/", views.report, name="report"),
    path("results/<id:pk>/pdf", views.report_pdf, name="report_pdf"),
    path("households/<id:household_id>/authorise/", views.authorise, name="authorise"),
    path("households/<id:household_id>/check/", views.check_household, name="check_household"),
    path("runs/", views.runs, name="runs"),
    path("runs/<id:pk>/", views.run_detail, name="run"),
    path("runs/<id:pk>/progress/", views.progress, name="run_progress"),
    path("runs/<id:pk>/export.xlsx", views.run_export, name="run_export"),
    path("runs/<id:pk>/reviews/", views.run_reviews, name="run_reviews"),
]
