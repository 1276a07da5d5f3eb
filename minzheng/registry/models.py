import datetime

from django.db import models
from django.db.models import Q

from minzheng.core import fields
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.scoping import ScopedQuerySet
from minzheng.regions.models import Region

from .codes import (
    AreaType,
    DisabilityCategory,
    DisabilityGrade,
    OrganisationType,
    Relationship,
    SelfCare,
    Sex,
)


class PersonQuerySet(ScopedQuerySet):
    region_field = "region"


class Person(models.Model):
    """A resident. Scoped by `region`: the village of household registration (kept in step with the household)."""

    name = models.CharField("姓名", max_length=50, db_index=True)
    id_number = models.CharField("公民身份号码", max_length=18, unique=True)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    phone = models.CharField("联系电话", max_length=20, blank=True)
    region = models.ForeignKey(Region, verbose_name="户籍所在地", on_delete=models.PROTECT, related_name="+")
    disability_category = models.CharField(
        "残疾类别", max_length=12, choices=DisabilityCategory.choices, blank=True, default=""
    )
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", choices=DisabilityGrade.choices, null=True, blank=True
    )
    self_care = models.CharField("生活自理能力", max_length=8, choices=SelfCare.choices, blank=True, default="")
    deceased_on = models.DateField("死亡日期", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = PersonQuerySet.as_manager()
    audit_type = "person"

    class Meta:
        verbose_name = verbose_name_plural = "人员"
        indexes = [
            models.Index(fields=["region", "name"]),
            # The few deceased people (the pre-payment comparison reads them every month), not a scan of everyone.
            models.Index(fields=["deceased_on"], condition=Q(deceased_on__isnull=False), name="person_deceased"),
        ]
        constraints = [
            models.CheckConstraint(
                name="person_disability_complete",
                condition=Q(disability_category="", disability_grade__isnull=True)
                | (~Q(disability_category="") & Q(disability_grade__isnull=False)),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"{self.name}（{mask_id_number(self.id_number)}）"

    def age_on(self, day: datetime.date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    @property
    def age(self) -> int:
        return self.age_on(datetime.date.today())

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


class HouseholdQuerySet(ScopedQuerySet):
    region_field = "region"


class Household(models.Model):
    """户: the unit that applies for and receives assistance, registered in one village/community."""

    region = models.ForeignKey(Region, verbose_name="户籍所在村（社区）", on_delete=models.PROTECT, related_name="+")
    address = models.CharField("家庭住址", max_length=200)
    area_type = models.CharField("城乡类别", max_length=5, choices=AreaType.choices)
    head = models.ForeignKey(
        Person, verbose_name="户主", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bank_name = models.CharField("开户银行", max_length=100, blank=True)
    bank_account = models.CharField("银行账号", max_length=30, blank=True)
    account_holder = models.CharField("账户名", max_length=50, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = HouseholdQuerySet.as_manager()
    audit_type = "household"

    class Meta:
        verbose_name = verbose_name_plural = "家庭"

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """户编号: a stable, printable household number."""
        return f"H{self.pk:09d}" if self.pk else ""

    def audit_label(self) -> str:
        head = self.head.masked_name if self.head_id and self.head else ""
        return f"家庭 {self.number}" + (f"（户主 {head}）" if head else "")

    def current_memberships(self):
        return self.memberships.filter(left_on__isnull=True).select_related("person").order_by("relationship", "id")


class MembershipQuerySet(ScopedQuerySet):
    region_field = "household__region"

    def current(self):
        return self.filter(left_on__isnull=True)


class Membership(models.Model):
    """A person's membership of a household over a period; history is kept by closing, never deleting, rows."""

    household = models.ForeignKey(Household, verbose_name="家庭", on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, verbose_name="成员", on_delete=models.PROTECT, related_name="memberships")
    relationship = models.CharField("与户主关系", max_length=2, choices=Relationship.choices)
    joined_on = models.DateField("迁入日期")
    left_on = models.DateField("迁出日期", null=True, blank=True)
    leave_reason = models.CharField("迁出原因", max_length=200, blank=True)
    recorded_by = fields.staff("登记人")

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "家庭成员关系"
        constraints = [
            # A person belongs to at most one household at a time.
            models.UniqueConstraint(fields=["person"], condition=Q(left_on__isnull=True), name="one_current_household"),
            models.CheckConstraint(
                name="membership_dates_ordered",
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
            ),
        ]
        indexes = [models.Index(fields=["household", "left_on"])]

    def __str__(self) -> str:
        return f"{self.person} @ {self.household}"


class OrganisationQuerySet(ScopedQuerySet):
    region_field = "region"


class Organisation(models.Model):
    name = models.CharField("名称", max_length=200, db_index=True)
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    org_type = models.CharField("类型", max_length=20, choices=OrganisationType.choices)
    region = models.ForeignKey(Region, verbose_name="所在区划", on_delete=models.PROTECT, related_name="+")
    address = models.CharField("地址", max_length=200, blank=True)
    legal_representative = models.CharField("法定代表人/负责人", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = OrganisationQuerySet.as_manager()
    audit_type = "organisation"

    class Meta:
        verbose_name = verbose_name_plural = "组织机构"

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return self.name
