from django.urls import path

from . import views

app_name = "checks"
urlpatterns = [
    # 核对报告, the household's authorisation and window check, batch re-checks (views.py)
    path("results/<int:pk>/", views.report, name="report"),
    path("results/<int:pk>/pdf", views.report_pdf, name="report_pdf"),
    path("households/<int:household_id>/authorise/", views.authorise, name="authorise"),
    path("households/<int:household_id>/check/", views.check_household, name="check_household"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.progress, name="run_progress"),
    path("runs/<int:pk>/export.xlsx", views.run_export, name="run_export"),
    path("runs/<int:pk>/reviews/", views.run_reviews, name="run_reviews"),
]
