from ninja import Router

router = Router(tags=["受理与办理"])
