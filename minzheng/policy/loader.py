"""Seeding the service catalogue from catalogue.toml (idempotent: updates names and bases, adds new items)."""

import tomllib
from importlib import resources

from django.db import transaction


def load_catalogue(service_model, material_model) -> int:
    data = tomllib.loads(resources.files("minzheng.policy").joinpath("catalogue.toml").read_text("utf-8"))
    with transaction.atomic():
        for order, entry in enumerate(data["service"]):
            materials = entry.pop("materials")
            item, _ = service_model.objects.update_or_create(code=entry["code"], defaults={**entry, "order": order})
            for position, material in enumerate(materials):
                material_model.objects.update_or_create(
                    service=item,
                    code=material["code"],
                    defaults={
                        "name": material["name"],
                        "required": material.get("required", True),
                        "shared_from": material.get("shared_from", ""),
                        "order": position,
                    },
                )
    return len(data["service"])
