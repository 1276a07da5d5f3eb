"""Shared helpers for forms that submit to services."""

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe

from minzheng.core.errors import DomainError


def attach_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's DomainError on the field it names, or at the top of the form."""
    message = exc.message
    url = exc.context.get("existing_url")
    if url:
        message = f"{message}（查看已登记记录：{url}）"
    if exc.field and exc.field in form.fields:
        form.add_error(exc.field, message)
    else:
        form.add_error(None, message)


class BootstrapMixin:
    """Bootstrap classes on every widget, so templates can render fields plainly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            if isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            field.widget.attrs.setdefault("class", css)


class StaffForm(BootstrapMixin, forms.Form):
    """A staff page's form: Bootstrap classes, and check boxes and radio buttons styled as such."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"


# Fields with their Chinese messages, worded the same everywhere: 请填写X / 请选择X / X不能超过N字 / X格式错误.


def text(
    label: str, max_length: int, *, rows: int | None = None, required: bool = True, required_message: str = "", **kwargs
) -> forms.CharField:
    if rows:
        kwargs["widget"] = forms.Textarea(attrs={"rows": rows})
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={
            "required": required_message or f"请填写{label}",
            "max_length": f"{label}不能超过{max_length}字",
        },
        **kwargs,
    )


def choice(
    label: str, choices=(), *, blank: bool = True, required: bool = True, message: str = "", **kwargs
) -> forms.ChoiceField:
    """A choice; `blank` puts 请选择 first (a select that starts empty)."""
    message = message or f"请选择{label}"
    return forms.ChoiceField(
        label=label,
        choices=[("", "请选择"), *choices] if blank else list(choices),
        required=required,
        error_messages={"required": message, "invalid_choice": message},
        **kwargs,
    )


def date_input(*, not_after_today: bool = False) -> forms.DateInput:
    """The browser's date picker (ISO dates); `not_after_today` caps it at today."""
    attrs = {"type": "date"}
    if not_after_today:
        from django.utils import timezone

        attrs["max"] = timezone.localdate().isoformat()
    return forms.DateInput(attrs=attrs, format="%Y-%m-%d")


def day(label: str, *, not_after_today: bool = True, required: bool = True, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=date_input(not_after_today=not_after_today),
        error_messages={"required": f"请填写{label}", "invalid": f"{label}格式错误"},
        **kwargs,
    )


_SELECT = "django/forms/widgets/select.html"
_OPTION = "django/forms/widgets/select_option.html"
_TEXTAREA = "django/forms/widgets/textarea.html"
# Widgets whose template is only an include of input.html.
_INPUTS = {
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "hidden", "date", "number", "email", "password", "url", "checkbox", "time", "search")
}


def _formatted(value) -> str:
    # `value|stringformat:'s'`: the text of the value, escaped unless it was already safe (the filter keeps safety).
    text = str(value)
    return mark_safe(text) if isinstance(value, SafeData) else text


def _attrs(attrs: dict) -> str:
    # django/forms/widgets/attrs.html: False leaves the attribute out, True writes its bare name.
    return mark_safe(  # each part escaped by format_html
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, _formatted(value))
            for name, value in attrs.items()
            if value is not False
        )
    )


class FormRenderer(DjangoTemplates):
    """Django's form renderer, but the common widgets are written here rather than through their templates (each a
    template with an include or two): the household page's three relationship lists (≈ 250 options) took about as long
    to render as the rest of the page, and the case page's action forms spent a fifth of its time on inputs. The
    markup is the same as Django's templates write (core/tests/test_form_renderer.py compares them); any other widget
    goes through its template."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if widget is not None:
            if template_name in _INPUTS:
                return self._input(widget)
            if template_name == _TEXTAREA:
                value = widget["value"]
                return format_html(
                    '<textarea name="{}"{}>\n{}</textarea>', widget["name"], _attrs(widget["attrs"]), value or ""
                )
            if template_name == _SELECT and all(
                o["template_name"] == _OPTION for _, group, _ in widget["optgroups"] for o in group
            ):
                return self._select(widget)
        return super().render(template_name, context, request=request)

    @staticmethod
    def _input(widget: dict) -> str:
        value = widget["value"]
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            format_html(' value="{}"', _formatted(value)) if value is not None else "",
            _attrs(widget["attrs"]),
        )

    @staticmethod
    def _select(widget: dict) -> str:
        parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
        for group_name, group, _ in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in group:
                parts.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n',
                        option["value"],
                        _attrs(option["attrs"]),
                        option["label"],
                    )
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(str(p) for p in parts))  # every part is a constant or escaped by format_html
