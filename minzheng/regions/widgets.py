"""A form widget for a region field: picked from the division tree under the user's own region (the same picker as the
list filters, templates/regions/_picker.html), the code still posted as plain digits so the field's own validation
and the service's scope check are unchanged."""

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from .models import Region
from .picker import picked, relative_name


class RegionPicker(forms.Widget):
    template_name = "regions/_picker_widget.html"

    def __init__(self, root: Region | None, attrs=None):
        super().__init__(attrs)
        self.root = root

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        region = picked(str(value or ""), self.root)
        empty = "请选择区划"
        context.update(
            {
                "name": name,
                "value": region.official_code if region else (value or ""),
                "label": (relative_name(region, self.root) or region.name) if region else empty,
                "empty_label": empty,
                "root": self.root,
                "root_label": self.root.name if self.root else "",
                "testid": f"picker-{name}",
            }
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates (not the form renderer's): the picker is shared with the list filters.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_from_datadict(self, data, files, name):
        return data.get(name)
