# The departmental snapshots move from the checks app to the exchange app: the table keeps its name, so only
# Django's record of which app owns the model changes (no SQL runs).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('checks', '0002_alter_snapshot_source'),
        ('regions', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Snapshot',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('source', models.CharField(choices=[('pension', '社保/养老金'), ('wage', '工资/纳税'), ('real_estate', '不动产'), ('vehicle', '车辆'), ('business', '市场主体登记'), ('housing_fund', '住房公积金'), ('finance', '银行存款/理财/证券'), ('medical', '医疗费用'), ('disability', '残疾人证'), ('civil_status', '死亡/户籍变动'), ('education', '教育缴费'), ('transfer', '优抚、奖励及转移性收入'), ('employment', '就业失业登记'), ('student', '学生资助与控辍保学'), ('disaster', '自然灾害受灾家庭'), ('anti_poverty', '防止返贫监测对象')], db_index=True, max_length=20, verbose_name='数据来源')),
                    ('period', models.DateField(verbose_name='数据截至日期')),
                    ('version', models.PositiveIntegerField(default=1, verbose_name='版本')),
                    ('file_format', models.CharField(max_length=10, verbose_name='文件格式')),
                    ('original_name', models.CharField(blank=True, max_length=200, verbose_name='原始文件名')),
                    ('file_sha256', models.CharField(max_length=64, verbose_name='原始文件校验值')),
                    ('content_sha256', models.CharField(max_length=64, verbose_name='快照文件校验值')),
                    ('path', models.CharField(max_length=300, verbose_name='快照文件')),
                    ('rows_total', models.PositiveIntegerField(default=0, verbose_name='总行数')),
                    ('rows_valid', models.PositiveIntegerField(default=0, verbose_name='有效行数')),
                    ('rows_rejected', models.PositiveIntegerField(default=0, verbose_name='拒收行数')),
                    ('rows_unmatched', models.PositiveIntegerField(default=0, verbose_name='未匹配到登记人员行数')),
                    ('rejects_path', models.CharField(blank=True, max_length=300, verbose_name='拒收报告')),
                    ('imported_at', models.DateTimeField(auto_now_add=True, verbose_name='导入时间')),
                    ('imported_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='导入人')),
                    ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region', verbose_name='覆盖区划')),
                ],
                options={
                    'verbose_name': '部门数据快照',
                    'verbose_name_plural': '部门数据快照',
                    'ordering': ['source', '-period', '-version'],
                    'db_table': 'checks_snapshot',
                },
            ),
                migrations.AddConstraint(
                    model_name='snapshot',
                    constraint=models.UniqueConstraint(fields=('source', 'region', 'file_sha256'), name='snapshot_once_per_file'),
                ),
                migrations.AddConstraint(
                    model_name='snapshot',
                    constraint=models.UniqueConstraint(fields=('source', 'region', 'period', 'version'), name='snapshot_version'),
                ),
            ],
            database_operations=[],
        ),
    ]
