from django.apps import AppConfig


class TryOnConfig(AppConfig):
    name = "tryon"
    verbose_name = "Virtual nail try-on gateway"
