from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from minzheng.core.admin_scope import NationalAdmin, ScopedAdmin, TopAdministratorOnly
from minzheng.core.errors import DomainError

from .catalogue import spec, specs
from .models import Material, Parameter, ServiceItem


class ParameterForm(forms.ModelForm):
    key = forms.ChoiceField(label="参数")
    value = forms.CharField(label="取值", help_text="整数、比例（如 0.30）、“是/否”或选项编码")

    class Meta:
        model = Parameter
        fields = ["key", "region", "effective_from", "value", "basis"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(k, f"{s.label}（{k}）") for k, s in specs().items()]
        if self.instance.pk:
            self.initial["value"] = self.instance.value

    def clean(self):
        data = super().clean()
        if self.instance.pk and self.instance.effective_from <= timezone.localdate():
            raise ValidationError("已生效的参数不能修改（已作出的决定依据它），请新增一条以后生效的参数")
        key = data.get("key")
        if key and "value" in data:
            try:
                data["value"] = spec(key).parse(data["value"])
            except DomainError as exc:
                self.add_error("value", exc.message)
        return data


@admin.register(Parameter)
class ParameterAdmin(ScopedAdmin):
    """The parameters of the administrator's subtree; the national defaults (no region) are the root's."""

    national_if_null = True
    form = ParameterForm
    list_display = ("key", "label", "region", "effective_from", "value", "basis", "created_by")
    list_filter = ("key",)
    search_fields = ("key", "region__name", "region__code")
    raw_id_fields = ("region",)

    @admin.display(description="名称")
    def label(self, obj) -> str:
        return spec(obj.key).label if obj.key in specs() else obj.key

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or obj.effective_from > timezone.localdate()


class MaterialInline(TopAdministratorOnly, admin.TabularInline):
    model = Material
    extra = 1


@admin.register(ServiceItem)
class ServiceItemAdmin(NationalAdmin):
    list_display = ("name", "code", "category", "deciding_level", "online", "workflow", "public_notice", "active")
    list_filter = ("category", "active")
    inlines = [MaterialInline]
