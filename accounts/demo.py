"""Demo data for `seed_demo`: a believable organization to walk every journey by hand.

Each `seed_*` step looks up what it would create and creates only what is missing, so running
`seed_demo` twice leaves one copy of everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import DistributorGroup, GroupMembership, Organization, Role, User

DEMO_PASSWORD = "trunkpool-demo"
ORG_NAME = "Demo Orthopedics"

USERS = [
    ("admin", Role.ADMIN, "Avery Admin", "admin"),
    ("dana", Role.DISTRIBUTOR, "Dana Distributor", "distributor; reps riley and sam"),
    ("riley", Role.REP, "Riley Rep", "sales rep of dana"),
    ("sam", Role.REP, "Sam Rep", "sales rep of dana"),
    ("drew", Role.DISTRIBUTOR, "Drew Distributor", "distributor; rep casey"),
    ("casey", Role.REP, "Casey Rep", "sales rep of drew"),
]
GROUPS = {"dana": ["riley", "sam"], "drew": ["casey"]}


@dataclass
class Summary:
    organization: Organization
    users: dict[str, User] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    # Usernames this run created (with DEMO_PASSWORD); the others were there already and keep
    # whatever password they have now.
    created: set[str] = field(default_factory=set)


def seed() -> Summary:
    org, _ = Organization.objects.get_or_create(name=ORG_NAME)
    summary = Summary(organization=org)
    for username, role, name, note in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                organization=org,
                role=role,
                display_name=name,
                email=f"{username}@demo-ortho.example",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            summary.created.add(username)
        if role == Role.DISTRIBUTOR:
            DistributorGroup.objects.get_or_create(distributor=user, defaults={"organization": org})
        summary.users[username] = user
        summary.logins.append((username, user.get_role_display(), note))
    for distributor, reps in GROUPS.items():
        group = DistributorGroup.objects.get(distributor=summary.users[distributor])
        for rep in reps:
            GroupMembership.objects.get_or_create(rep=summary.users[rep], defaults={"group": group})
    return summary
