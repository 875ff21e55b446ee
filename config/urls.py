from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from backoffice.urls import broadcast_urlpatterns as backoffice_urlpatterns
from broadcasts.urls import urlpatterns as broadcast_urlpatterns
from broadcasts.views import home
from config.views import favicon, health, uploaded_image
from leads.urls import broadcast_urlpatterns as lead_urlpatterns
from participation.urls import broadcast_urlpatterns as audience_urlpatterns
from participation.views import avatar

broadcast_pages = [
    *broadcast_urlpatterns,
    *audience_urlpatterns,
    *lead_urlpatterns,
    *backoffice_urlpatterns,
]

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # A broadcast's pages, whichever app serves them, under one namespace.
    path("b/", include((broadcast_pages, "broadcasts"))),
    path("leads/", include("leads.urls")),
    path("api/", include("config.api")),
    path("healthz", health, name="health"),
    path("media/<path:name>", uploaded_image, name="uploaded-image"),
    path("avatar/<str:letters>/<int:hue>.svg", avatar, name="avatar"),
]

handler500 = "config.middleware.server_error"
