from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from .admin_scope import NationalAdmin, TopAdministratorOnly
from .models import CalendarDay, CalendarYear
from .workdays import library_knows


class CalendarDayFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        year = self.instance.year
        for form in self.forms:
            day = form.cleaned_data.get("date") if hasattr(form, "cleaned_data") else None
            if day and day.year != year:
                raise ValidationError(f"{day:%Y-%m-%d} 不属于{year}年")


class CalendarDayInline(TopAdministratorOnly, admin.TabularInline):
    model = CalendarDay
    formset = CalendarDayFormSet
    extra = 5


class CalendarYearForm(forms.ModelForm):
    class Meta:
        model = CalendarYear
        fields = ["year", "official", "notice"]

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        if library_knows(year):
            raise ValidationError(f"{year}年的节假日安排已内置（国务院办公厅通知），无需录入")
        if not 2000 <= year <= 2100:
            raise ValidationError("年份不合理")
        return year


@admin.register(CalendarYear)
class CalendarYearAdmin(NationalAdmin):
    """Holiday arrangements for years the bundled calendar does not know yet (enter them from the State Council notice)."""

    form = CalendarYearForm
    list_display = ("year", "official", "notice", "updated_at")
    inlines = [CalendarDayInline]
