"""Panels the apps contribute to shared pages — the workbench (工作台) and the household page — without the page's
app importing them (dependencies point down: registry cannot import cases, web should not know every app).

An app contributes by defining `<app>/panels.py` with providers decorated by `register(slot)`; the modules are found
the first time a page collects its panels (as Django's admin finds `admin.py`). A provider receives the request and
the slot's arguments and returns a `Panel` — or None when it has nothing for this user (no capability, nothing to
show). Slots and their arguments:

    WORKBENCH  provider(request, today=date)            the signed-in user's working day
    HOUSEHOLD  provider(request, household=Household)   one household in the user's scope (already audited)
    SEARCH     provider(request, query=str)             more results for the registry's search box (e.g. cases)

The payments module (benefits) adds its held-lines panel here the same way: a `benefits/panels.py` provider for
WORKBENCH, nothing else to change.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules

WORKBENCH = "workbench"
HOUSEHOLD = "household"
SEARCH = "search"


@dataclass
class Panel:
    title: str
    template: str  # rendered with the page's context plus `panel`
    context: dict = field(default_factory=dict)
    order: int = 100  # smaller first
    wide: bool = False  # the full width of the page rather than half
    key: str = ""  # data-testid suffix: panel-<key>
    attention: int = 0  # what needs doing now (overdue and due items): drawn as a red badge by the title


Provider = Callable[..., Panel | None]
_providers: dict[str, list[tuple[int, str, Provider]]] = {}
_discovered = False


def register(slot: str, order: int = 100) -> Callable[[Provider], Provider]:
    def decorate(provider: Provider) -> Provider:
        entries = _providers.setdefault(slot, [])
        name = f"{provider.__module__}.{provider.__qualname__}"
        if all(existing != name for _o, existing, _p in entries):  # a module imported twice registers once
            entries.append((order, name, provider))
        return provider

    return decorate


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("panels")
        _discovered = True


def collect(slot: str, request, **kwargs) -> list[Panel]:
    """The slot's panels for this request, in order."""
    _discover()
    panels = []
    for order, _name, provider in sorted(_providers.get(slot, []), key=lambda item: (item[0], item[1])):
        panel = provider(request, **kwargs)
        if panel is not None:
            panel.order = panel.order if panel.order != 100 else order
            panels.append(panel)
    return sorted(panels, key=lambda p: p.order)
