from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from minzheng.core import panels


@login_required
def home(request):
    """工作台: what the user's role has to do today, each app contributing its panel (core.panels)."""
    today = timezone.localdate()
    return render(
        request, "web/home.html", {"panels": panels.collect(panels.WORKBENCH, request, today=today), "today": today}
    )
