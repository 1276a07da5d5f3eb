from django.http import HttpResponse


def queue(request):  # placeholder, replaced by the work queue
    return HttpResponse(status=501)


def referrals(request):  # placeholder
    return HttpResponse(status=501)


def referral_reply(request, pk: int):  # placeholder
    return HttpResponse(status=501)


def public_notice(request, region_code: str):  # placeholder
    return HttpResponse(status=501)


def published(request, region_code: str):  # placeholder
    return HttpResponse(status=501)
