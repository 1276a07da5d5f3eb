from django.contrib import admin
from django.urls import include, path

from minzheng.accounts.urls import auth_urlpatterns
from minzheng.api.router import api
from minzheng.benefits.urls import public_urlpatterns as public_benefits
from minzheng.cases.urls import public_urlpatterns
from minzheng.core.admin_scope import no_view_on_site
from minzheng.web.health import healthz

handler404 = "minzheng.core.http.not_found"

admin.site.site_header = "民政一体化服务平台 · 管理后台"
admin.site.site_title = "民政一体化服务平台"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    *auth_urlpatterns,
    path("", include("minzheng.web.urls")),
    path("accounts/", include("minzheng.accounts.urls")),
    path("regions/", include("minzheng.regions.urls")),
    path("registry/", include("minzheng.registry.urls")),
    path("cases/", include("minzheng.cases.urls")),
    path("checks/", include("minzheng.checks.urls")),
    # The exchange's pages keep the addresses departments and staff already use (/checks/snapshots/, rejects links).
    path("checks/", include("minzheng.exchange.urls")),
    path("monitoring/", include("minzheng.monitoring.urls")),
    path("simulation/", include("minzheng.simulation.urls")),
    path("benefits/", include("minzheng.benefits.urls")),
    path("", include((public_urlpatterns, "public"))),
    path("", include((public_benefits, "public_benefits"))),
    path("api/v1/", api.urls),
    path("admin/r/<path:rest>", no_view_on_site),  # see core.admin_scope
    path("admin/", admin.site.urls),
]
