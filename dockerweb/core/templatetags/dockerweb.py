"""Small template helpers shared by every page."""
from django import template
from django.utils import timezone

from dockerweb.core.permissions import may as _may

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context, action, host=None):
    """`{% may "network.create" host as can_create %}`"""
    return _may(context["request"].user, action, host)


@register.filter
def humansize(num):
    try:
        num = float(num)
    except (TypeError, ValueError):
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(num) < 1024 or unit == "TiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} TiB"


@register.inclusion_tag("includes/time.html")
def when(value):
    """A time in the user's zone, with the exact time on hover and a relative hint."""
    return {"value": value, "local": timezone.localtime(value) if value else None}


@register.simple_tag(takes_context=True)
def querystring_page(context, page):
    q = context["request"].GET.copy()
    q["page"] = page
    return "?" + q.urlencode()


@register.simple_tag
def form_problems(form):
    """What a form's error banner says: how many problems, and the fields they are on (in the
    form's order), `{count, fields: [{id, label}], general: [sentences]}`."""
    if form is None or not getattr(form, "errors", None):
        return {"count": 0, "fields": [], "general": []}
    fields = [{"id": form[name].id_for_label, "label": form[name].label}
              for name in form.fields if name in form.errors and not form[name].is_hidden]
    general = list(form.non_field_errors())
    hidden = [e for name in form.fields if name in form.errors and form[name].is_hidden for e in form.errors[name]]
    count = sum(len(form.errors[name]) for name in form.fields if name in form.errors) + len(general)
    return {"count": count, "fields": fields, "general": general + hidden}


@register.filter
def without_id(aliases, engine_id):
    """A container's network aliases without the one the engine adds by itself (its id's first 12
    digits, or the whole id): pages show names."""
    engine_id = str(engine_id or "")
    return [a for a in (aliases or []) if not (engine_id and a in (engine_id, engine_id[:12]))]
