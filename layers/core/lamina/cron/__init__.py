"""Scheduled tasks run by CronFunction on EventBridge schedules."""
