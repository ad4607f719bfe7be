from django import forms

from dockerweb.repositories.forms import RepositoryChoiceField

from .models import Compression, Consistency
from .schedules import KEEP_MAX


class BackupStartForm(forms.Form):
    host = forms.CharField(widget=forms.HiddenInput)
    volume = forms.CharField(help_text="The volume to back up.")
    compression = forms.ChoiceField(choices=Compression.choices, initial="zstd")
    consistency = forms.ChoiceField(choices=Consistency.choices, initial="none",
                                    help_text="Pause or stop the containers using the volume during the copy; "
                                              "they are started again afterwards, even if the backup fails.")

    def __init__(self, *args, volumes=None, **kwargs):
        super().__init__(*args, **kwargs)
        if volumes is not None:
            self.fields["volume"] = forms.ChoiceField(choices=[(v, v) for v in volumes],
                                                      help_text="The volume to back up.")


class RestoreForm(forms.Form):
    host = forms.ChoiceField(help_text="Another host than the backup's makes this a migration.")
    volume = forms.CharField(help_text="Target volume.")
    create = forms.BooleanField(required=False, initial=True, label="Create the volume if it does not exist")
    overwrite = forms.BooleanField(required=False, label="Overwrite a non-empty volume (a safety backup is kept)")
    strip_components = forms.IntegerField(min_value=0, max_value=20, required=False,
                                          help_text="Leading path parts to strip, like tar --strip-components.")

    def __init__(self, *args, hosts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [(h, h) for h in hosts]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A tar (plain, .gz or .zst), e.g. from <code>tar cvf backup.tar /dbdata</code>.")
    volume = forms.CharField(required=False, help_text="A name to file it under (default: the file's name).")
    strip_components = forms.IntegerField(min_value=0, max_value=20, initial=1,
                                          help_text="1 for the walkthrough's archive (its members start with <code>dbdata/</code>).")


class ScheduleForm(forms.Form):
    host = forms.ChoiceField()
    volume = forms.CharField(required=False, help_text="One volume, or leave empty and give a label.")
    label = forms.CharField(required=False, help_text="Every volume with this label: <code>key</code> or <code>key=value</code>.")
    cron = forms.CharField(initial="0 3 * * *", help_text="minute hour day-of-month month day-of-week (UTC)")
    repository = RepositoryChoiceField(
        queryset=None, required=False, label="Keep in", empty_label="the archive store (a full archive each run)",
        help_text="A repository keeps incremental, encrypted snapshots instead of archives.")
    keep_last = forms.IntegerField(min_value=0, max_value=KEEP_MAX, initial=7)
    keep_hourly = forms.IntegerField(min_value=0, max_value=KEEP_MAX, initial=0, required=False)
    keep_daily = forms.IntegerField(min_value=0, max_value=KEEP_MAX, initial=0)
    keep_weekly = forms.IntegerField(min_value=0, max_value=KEEP_MAX, initial=0)
    keep_monthly = forms.IntegerField(min_value=0, max_value=KEEP_MAX, initial=0, required=False)
    compression = forms.ChoiceField(choices=Compression.choices, initial="zstd",
                                    widget=forms.Select(attrs={"data-shown-when": "repository="}),
                                    help_text="Of archives (a repository compresses its own way).")
    consistency = forms.ChoiceField(choices=Consistency.choices, initial="none")
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, hosts=(), **kwargs):
        from dockerweb.repositories.selectors import repository_list

        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [(h, h) for h in hosts]
        self.fields["repository"].queryset = repository_list()

    def clean(self):
        d = super().clean()
        for k in ("keep_hourly", "keep_monthly"):  # forms of before had no such fields: empty is none
            if k in d and d[k] is None:
                d[k] = 0
        return d
