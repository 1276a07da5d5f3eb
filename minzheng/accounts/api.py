from ninja import Router, Schema

router = Router(tags=["账户"])


class Me(Schema):
    username: str
    name: str
    role: str
    role_name: str
    region_code: str
    region_name: str


@router.get("/me", response=Me, summary="当前用户及其数据范围")
def me(request):
    user = request.user
    return Me(
        username=user.username,
        name=user.display_name,
        role=user.role,
        role_name=user.get_role_display(),
        region_code=user.region_id or "",
        region_name=user.region.name if user.region_id else "",
    )
