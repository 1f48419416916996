from django import forms

from .models import Role, User


class UserFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    role = forms.ChoiceField(required=False, choices=[("", "All roles"), *Role.choices])


class UserCreateForm(forms.Form):
    # No "@" (it would break @mentions) and no trailing . + - (a mention ends before them).
    username = forms.RegexField(
        regex=r"^[\w.+-]*\w\Z",
        max_length=150,
        error_messages={
            "invalid": "Use letters, digits and . + - _ only, ending with a letter or digit."
        },
    )
    display_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        widget=forms.PasswordInput, min_length=8, help_text="At least 8 characters."
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is already taken.")
        return username


class UserEditForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)


class AssignRepForm(forms.Form):
    rep = forms.ModelChoiceField(
        queryset=User.objects.none(),
        empty_label="Choose a sales rep",
        error_messages={
            "invalid_choice": "That user cannot be assigned: pick an active sales rep of this "
            "organization who is in no other group.",
        },
    )

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = queryset


class PoolingForm(forms.Form):
    pooling_enabled = forms.BooleanField(required=False, label="Access Distributor's Inventory")
