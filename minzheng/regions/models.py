from django.db import models

from minzheng.core.errors import DomainError

from . import codes


class RegionQuerySet(models.QuerySet):
    def by_code(self, code: str) -> "Region":
        """A region from an official code of 2–12 digits (e.g. 1307), or a Chinese error (malformed or unknown)."""
        canonical = codes.canonical(str(code or ""))
        region = self.filter(pk=canonical).first()
        if region is None:
            raise DomainError(f"区划代码 {code} 不存在", "unknown_region", field="region")
        return region

    def subtree(self, region: "Region | str", include_self: bool = True) -> "RegionQuerySet":
        code = region.code if isinstance(region, Region) else region
        low, high = codes.subtree_range(code)
        qs = self.filter(code__gte=low, code__lte=high)
        return qs if include_self else qs.exclude(code=code)


class Region(models.Model):
    """One administrative division, keyed by its canonical 12-digit statistical code (NBS 2023)."""

    class Level(models.IntegerChoices):
        COUNTRY = codes.COUNTRY, "国家"
        PROVINCE = codes.PROVINCE, "省级"
        CITY = codes.CITY, "地级"
        COUNTY = codes.COUNTY, "县级"
        TOWNSHIP = codes.TOWNSHIP, "乡级"
        VILLAGE = codes.VILLAGE, "村级"

    class UrbanRural(models.TextChoices):
        URBAN = codes.URBAN, "城镇"
        RURAL = codes.RURAL, "农村"
        UNDETERMINED = codes.UNDETERMINED, "未区分"

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=100)
    level = models.PositiveSmallIntegerField("层级", choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_index=False,  # covered by the (parent, code) index below, which also serves ordered child lists
    )
    urban_rural = models.CharField("城乡属性", max_length=5, choices=UrbanRural.choices, blank=True, default="")

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "行政区划"
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "code"], name="region_children")]

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return codes.significant_prefix(self.code, self.level)

    @property
    def official_code(self) -> str:
        """The code as published at its own level: 13, 1307, 130702, 130702001, 130702001001."""
        return self.prefix

    def subtree_range(self) -> tuple[str, str]:
        return codes.subtree_range(self.code, self.level)

    def contains(self, other: "Region | str") -> bool:
        code = other.code if isinstance(other, Region) else other
        low, high = self.subtree_range()
        return low <= code <= high

    def ancestors(self) -> list["Region"]:
        """From the province down to this region's parent, in one query."""
        wanted = codes.lineage(self.code, root=False)[1:]
        return list(Region.objects.filter(code__in=wanted).order_by("level"))

    def path_name(self) -> str:
        return "".join(r.name for r in [*self.ancestors(), self] if r.name != "市辖区")
