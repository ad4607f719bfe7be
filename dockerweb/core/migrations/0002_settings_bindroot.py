import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Setting",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("value", models.JSONField(blank=True, default=dict)),
                ("updated", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name="BindRoot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.CharField(help_text="An absolute, normalised folder path.", max_length=1024, unique=True)),
                ("origin", models.CharField(choices=[("environment", "DOCKERWEB_BIND_ALLOWLIST"), ("settings", "Settings page")], default="settings", max_length=16)),
                ("added_by_name", models.CharField(blank=True, max_length=150)),
                ("created", models.DateTimeField(blank=True, help_text="When it was added (empty: from the environment).", null=True)),
                ("added_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ("path",)},
        ),
    ]
