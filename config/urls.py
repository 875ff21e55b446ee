from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from config.views import health
from participation.views import avatar

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("b/", include("broadcasts.urls")),
    path("leads/", include("leads.urls")),
    path("api/", include("config.api")),
    path("healthz", health, name="health"),
    path("avatar/<str:letters>/<int:hue>.svg", avatar, name="avatar"),
]

handler500 = "config.middleware.server_error"
