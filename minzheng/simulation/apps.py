from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "minzheng.simulation"
    label = "simulation"
    verbose_name = "政策模拟"
