from django.urls import path

from . import views

app_name = "simulation"

urlpatterns = [
    path("", views.scenarios, name="scenarios"),
    path("compare/", views.compare, name="compare"),
    path("<id:pk>/", views.scenario, name="scenario"),
    path("<id:pk>/run/", views.run, name="run"),
    path("<id:pk>/progress/", views.progress, name="progress"),
    path("<id:pk>/affected/", views.affected, name="affected"),
    path("<id:pk>/export/", views.export, name="export"),
    path("<id:pk>/brief.pdf", views.brief, name="brief"),
    path("<id:pk>/adopt/", views.adopt, name="adopt"),
]
