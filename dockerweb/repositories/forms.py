"""Forms of the repositories pages. They check the shape of what is typed; the services judge it
(the place, the password, the keys) and their refusals land on these fields."""
from django import forms

from dockerweb.backups.models import Consistency

from .models import Repository

SFTP_ONLY = {"data-shown-when": "kind=sftp"}  # app.js hides the field while the kind is not sftp


class RepositoryChoiceField(forms.ModelChoiceField):
    """A choice of repository, by its name."""

    def label_from_instance(self, obj):
        return obj.name


def _copy_to_field():
    return RepositoryChoiceField(
        queryset=Repository.objects.all(), required=False, label="Copy to", empty_label="no copy",
        help_text="A second repository (offsite) that receives a copy of every snapshot.")


class RepositoryForm(forms.Form):
    """Add a repository: a new one is initialised, an existing one (the password opens it) adopted."""

    name = forms.CharField(max_length=63, widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    kind = forms.ChoiceField(choices=Repository.Kind.choices, initial=Repository.Kind.LOCAL)
    location = forms.CharField(
        max_length=1024, widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}))
    password = forms.CharField(
        max_length=1024, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Encrypts every snapshot: without it nothing can be read back. Keep a copy somewhere safe.")
    ssh_key = forms.CharField(
        required=False, strip=False, max_length=20000, label="SSH private key",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off", **SFTP_ONLY}),
        help_text="The OpenSSH private key the server accepts, without a passphrase.")
    known_host = forms.CharField(
        required=False, max_length=20000, label="Server's host key (pinned)",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off",
                                      "placeholder": "ssh-ed25519 AAAA…", **SFTP_ONLY}),
        help_text="As <code>ssh-keyscan</code> prints it: no other server is trusted.")
    copy_to = _copy_to_field()
    check_cron = forms.CharField(
        required=False, max_length=100, initial="0 4 * * 0", label="Check schedule",
        help_text="When <code>restic check</code> runs (cron, UTC; the default is Sundays at 04:00). Empty: never "
                  "on its own.")

    def __init__(self, *args, **kwargs):
        from django.conf import settings
        from django.utils.html import escape

        super().__init__(*args, **kwargs)
        roots = " or ".join(f"<code>{escape(r)}</code>" for r in settings.REPOSITORY_ROOTS)
        self.fields["location"].help_text = (
            f"Local: a folder of the workers' machine inside {roots} (a new one, or one holding a repository). "
            "SFTP: <code>sftp://user@host[:port]/path</code>.")

    def service_data(self) -> dict:
        """What repository_create takes: an SFTP key and host key only for SFTP (their fields are
        hidden for a local repository, and what they held is not sent)."""
        d = dict(self.cleaned_data)
        if d["kind"] != Repository.Kind.SFTP:
            d["ssh_key"] = d["known_host"] = ""
        else:  # left empty: "needs the key", rather than "this is no key"
            d["ssh_key"], d["known_host"] = d["ssh_key"] or None, d["known_host"] or None
        return d


class RepositoryEditForm(forms.Form):
    """Change a repository: empty secrets are kept; a new place or new secrets must open the
    repository already there."""

    name = forms.CharField(max_length=63, widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    location = forms.CharField(max_length=1024, widget=forms.TextInput(attrs={"spellcheck": "false"}),
                               help_text="Moved elsewhere: the repository there must open with its password.")
    password = forms.CharField(
        required=False, max_length=1024, strip=False, label="New password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep it. This does not re-encrypt the repository: give the password it has "
                  "(after changing it with <code>restic key passwd</code>).")
    ssh_key = forms.CharField(required=False, strip=False, max_length=20000, label="New SSH private key",
                              widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
                              help_text="Leave empty to keep it.")
    known_host = forms.CharField(required=False, max_length=20000, label="Server's host key (pinned)",
                                 widget=forms.TextInput(attrs={"spellcheck": "false"}))
    copy_to = _copy_to_field()
    check_cron = forms.CharField(required=False, max_length=100, label="Check schedule",
                                 help_text="cron, UTC; empty: never on its own.")

    def __init__(self, *args, repository: Repository, **kwargs):
        kwargs.setdefault("initial", {"name": repository.name, "location": repository.location,
                                      "known_host": repository.known_host, "copy_to": repository.copy_to_id,
                                      "check_cron": repository.check_cron})
        super().__init__(*args, **kwargs)
        self.repository = repository
        self.fields["copy_to"].queryset = Repository.objects.exclude(pk=repository.pk)
        if repository.kind != Repository.Kind.SFTP:
            del self.fields["ssh_key"], self.fields["known_host"]

    def service_data(self) -> dict:
        """What changed, for repository_update: a place or secrets only when given anew (each
        makes the service open the repository with them)."""
        d, r = self.cleaned_data, self.repository
        out = {"name": d["name"], "copy_to": d["copy_to"], "check_cron": d["check_cron"]}
        if d["location"] != r.location:
            out["location"] = d["location"]
        if d.get("password"):
            out["password"] = d["password"]
        if d.get("ssh_key"):
            out["ssh_key"] = d["ssh_key"]
        if "known_host" in d and d["known_host"].strip() and d["known_host"].strip() != r.known_host:
            out["known_host"] = d["known_host"]
        return out


class SnapshotStartForm(forms.Form):
    """A snapshot of one volume into a repository (the volume page's panel)."""

    host = forms.CharField(widget=forms.HiddenInput)
    volume = forms.CharField(widget=forms.HiddenInput)
    repository = RepositoryChoiceField(queryset=Repository.objects.all(), empty_label=None,
                                        error_messages={"invalid_choice": "Choose one of the repositories."})
    consistency = forms.ChoiceField(choices=Consistency.choices, initial="none")


class SnapshotFilterForm(forms.Form):
    host = forms.CharField(required=False, max_length=63)
    volume = forms.CharField(required=False, max_length=255)
