"""factory-boy factories with a trait per role; no fixtures files, no hard-coded keys."""

import factory

from accounts.models import DistributorGroup, GroupMembership, Organization, Role, User

PASSWORD = "test-pass-123"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.REP
    password = factory.django.Password(PASSWORD)

    class Params:
        admin = factory.Trait(role=Role.ADMIN)
        distributor = factory.Trait(role=Role.DISTRIBUTOR)
        rep = factory.Trait(role=Role.REP)

    @factory.post_generation
    def group(obj, create, extracted, **kwargs):
        # A distributor always heads a group, as the user_create service guarantees.
        if create and obj.role == Role.DISTRIBUTOR:
            DistributorGroup.objects.get_or_create(
                distributor=obj, defaults={"organization": obj.organization}
            )

    @factory.post_generation
    def assigned_to(obj, create, extracted, **kwargs):
        """RepFactory(assigned_to=<distributor>) puts the rep in that distributor's group."""
        if create and extracted is not None:
            GroupMembership.objects.create(group=extracted.distributor_group, rep=obj)


class DistributorFactory(UserFactory):
    role = Role.DISTRIBUTOR


class RepFactory(UserFactory):
    role = Role.REP


class AdminFactory(UserFactory):
    role = Role.ADMIN
