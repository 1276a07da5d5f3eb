from django.http import HttpResponse


def case_document(request, pk: int, kind: str):  # placeholder, replaced by the PDF notices
    return HttpResponse(status=501)
