from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<id:pk>/", views.alert_detail, name="alert"),
    path("alerts/<id:pk>/visit/", views.alert_visit, name="alert_visit"),
    path("alerts/<id:pk>/close/", views.alert_close, name="alert_close"),
    path("households/<id:household_id>/chain/", views.household_chain, name="chain"),
    path("register/", views.register, name="register"),
    path("sweeps/", views.sweeps, name="sweeps"),
    path("sweeps/<id:pk>/", views.sweep_detail, name="sweep"),
    path("sweeps/<id:pk>/progress/", views.sweep_progress, name="sweep_progress"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
