from django.urls import path

from tryon import views

urlpatterns = [
    path("healthz", views.healthz),
]
