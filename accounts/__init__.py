"""Organizations, users and roles, distributor groups and pooling, who speaks for whom,
notifications and mail."""
