"""Throttle counters shared by every app server: one row per (key, window), counted up with
one INSERT … ON CONFLICT DO UPDATE … RETURNING, so two servers never lose a count."""

from django.db import models


class ThrottleBucket(models.Model):
    key = models.CharField(max_length=100)
    window_start = models.BigIntegerField()  # unix seconds at the start of the window
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="throttle_bucket_once")
        ]
        indexes = [models.Index(fields=["window_start"], name="throttle_window_idx")]

    def __str__(self):
        return f"{self.key}@{self.window_start}: {self.count}"
