"""The volume create form (`docker volume create`)."""
from __future__ import annotations

from django import forms


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for line in (text or "").splitlines():
        if line.strip():
            k, _, v = line.strip().partition("=")
            out[k.strip()] = v.strip()
    return out


class VolumeCreateForm(forms.Form):
    name = forms.CharField(required=False, help_text="Empty: the engine names it (an anonymous volume).",
                           widget=forms.TextInput(attrs={"placeholder": "my-vol"}))
    driver = forms.CharField(initial="local", help_text="Drivers other than local are for admins.")
    driver_opts = forms.CharField(required=False, label="Driver options (-o)",
                                  widget=forms.Textarea(attrs={"rows": 3, "placeholder": "type=tmpfs\ndevice=tmpfs\no=size=100m"}),
                                  help_text="One key=value per line. Options that bind a host path are for admins.")
    labels = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "key=value"}),
                             help_text="One key=value per line.")

    def clean_driver_opts(self):
        return _pairs(self.cleaned_data["driver_opts"])

    def clean_labels(self):
        return _pairs(self.cleaned_data["labels"])
