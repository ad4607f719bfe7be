from django import forms

ROLE_CHOICES = [("viewer", "viewer — reads everything"), ("operator", "operator — networks, containers, volumes, backups"),
                ("admin", "admin — everything, including users and hosts")]


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8, help_text="At least 8 characters.")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer")


class UserUpdateForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES + [("none", "none — cannot sign in to anything")])
    is_active = forms.BooleanField(required=False, label="Active")
    password = forms.CharField(widget=forms.PasswordInput, required=False, help_text="Leave empty to keep it.")


class ActivityFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Target contains")
    user = forms.CharField(required=False)
    action = forms.CharField(required=False, help_text="e.g. network or network.create")
    host = forms.CharField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), ("ok", "done"), ("refused", "refused"), ("failed", "failed")])


class BindRootForm(forms.Form):
    path = forms.CharField(max_length=1024, label="Folder",
                           error_messages={"required": "Give the full path of a folder, e.g. /srv/binds."},
                           widget=forms.TextInput(attrs={"placeholder": "/srv/binds", "spellcheck": "false",
                                                         "autocomplete": "off"}),
                           help_text="The full path of a folder that exists on the machine dockerweb runs on.")
