from django.urls import path

from . import views

app_name = "simulation"

urlpatterns = [
    path("", views.scenarios, name="scenarios"),
    path("compare/", views.compare, name="compare"),
    path("<int:pk>/", views.scenario, name="scenario"),
    path("<int:pk>/run/", views.run, name="run"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/affected/", views.affected, name="affected"),
    path("<int:pk>/export/", views.export, name="export"),
    path("<int:pk>/brief.pdf", views.brief, name="brief"),
    path("<int:pk>/adopt/", views.adopt, name="adopt"),
]
