from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import audit_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", audit_views.audit_list, name="audit"),
    # Browsers ask for /favicon.ico whatever the page says; the icon itself is a static file.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True), name="favicon"),
]
