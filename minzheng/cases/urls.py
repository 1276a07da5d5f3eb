from django.urls import path

from . import document_views, queue_views, views

app_name = "cases"
urlpatterns = [
    path("", queue_views.queue, name="queue"),
    path("new/", views.intake, name="intake"),
    path("<id:pk>/", views.case_detail, name="case"),
    path("<id:pk>/act/<slug:action>/", views.case_action, name="act"),
    path("<id:pk>/documents/<slug:kind>.pdf", document_views.case_document, name="document"),
    path("referrals/", queue_views.referrals, name="referrals"),
    path("referrals/<id:pk>/reply/", queue_views.referral_reply, name="referral_reply"),
]

# Public pages (no login): what the rules allow to be published about cases under notice and decided cases.
public_urlpatterns = [
    path("public/notice/<str:region_code>/", queue_views.public_notice, name="public_notice"),
    path("public/published/<str:region_code>/", queue_views.published, name="published"),
]
