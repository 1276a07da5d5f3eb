from django.contrib import admin
from django.urls import include, path

from minzheng.accounts.urls import auth_urlpatterns
from minzheng.api.router import api

admin.site.site_header = "民政一体化服务平台 · 管理后台"
admin.site.site_title = "民政一体化服务平台"

urlpatterns = [
    *auth_urlpatterns,
    path("", include("minzheng.core.urls")),
    path("accounts/", include("minzheng.accounts.urls")),
    path("regions/", include("minzheng.regions.urls")),
    path("registry/", include("minzheng.registry.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
