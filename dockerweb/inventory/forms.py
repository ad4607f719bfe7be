from django import forms


class HostForm(forms.Form):
    name = forms.CharField(max_length=63, help_text="Short name used in addresses, e.g. build-01.")
    url = forms.CharField(label="URL", max_length=255, help_text="unix:///var/run/docker.sock or tcp://10.0.0.5:2376")
    tls_ca = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="TLS CA (PEM)")
    tls_cert = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="TLS client certificate (PEM)")
    tls_key = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="TLS client key (PEM)")
    tls_verify = forms.BooleanField(required=False, initial=True, label="Verify the engine's certificate")
