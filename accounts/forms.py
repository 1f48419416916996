from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template import loader

from core.forms import Form, SafeInputMixin

from .fields import HolderField
from .mail import send_after_commit
from .models import NotificationKind, Role, User
from .selectors import HolderPurpose


class UserFilterForm(Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    role = forms.ChoiceField(required=False, choices=[("", "All roles"), *Role.choices])


class UserCreateForm(Form):
    # No "@" (it would break @mentions) and no trailing . + - (a mention ends before them).
    username = forms.RegexField(
        regex=r"^[\w.+-]*\w\Z",
        max_length=150,
        error_messages={
            "invalid": "Use letters, digits and . + - _ only, ending with a letter or digit."
        },
    )
    display_name = forms.CharField(max_length=150, required=False)
    # The invitation to set a password goes here; admins never choose passwords.
    email = forms.EmailField(help_text="The invitation to set a password is sent here.")
    role = forms.ChoiceField(choices=Role.choices)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is already taken.")
        return username


class UserEditForm(Form):
    display_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)


class AssignRepForm(Form):
    rep = HolderField(
        purpose=HolderPurpose.UNASSIGNED_REP,
        label="Sales rep to assign",
        not_found="Nobody matches “%(text)s” who can be assigned: pick an active sales rep of "
        "this organization who is in no other group.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].set_user(user)
        self.fields["rep"].widget.attrs.update(
            {"class": "form-control", "placeholder": "Type a rep's name or username"}
        )


class PoolingForm(Form):
    pooling_enabled = forms.BooleanField(required=False, label="Access Distributor's Inventory")


class PeopleAuthenticationForm(SafeInputMixin, AuthenticationForm):
    """The sign-in form, for people only. An integration's service user has an unusable
    password from the start; should one ever be set on it (`manage.py changepassword`), it is
    still refused here, with the same words as a wrong password."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_service:
            raise self.get_invalid_login_error()


class TrunkpoolPasswordResetForm(SafeInputMixin, PasswordResetForm):
    """Django's reset form, sending through the app's one mail path (accounts.mail).

    It also reaches people who never set a password (an invitation they lost): the emailed
    link is how they set one. Never an integration's service user: it never signs in.
    """

    def get_users(self, email):
        return User.objects.people().filter(email__iexact=email, is_active=True)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        send_after_commit(
            subject=loader.render_to_string(subject_template_name, context),
            body=loader.render_to_string(email_template_name, context),
            to=[to_email],
            html=(
                loader.render_to_string(html_email_template_name, context)
                if html_email_template_name
                else None
            ),
            organization_id=context["user"].organization_id,
        )


class NotificationSettingsForm(Form):
    """One email switch per notification kind (in-app notifications are always on)."""

    def __init__(self, *args, preferences: dict[str, bool], **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.BooleanField(
                required=False, label=kind.label, initial=preferences.get(kind.value, True)
            )

    def email_kinds(self) -> set[str]:
        return {kind for kind, on in self.cleaned_data.items() if on}
