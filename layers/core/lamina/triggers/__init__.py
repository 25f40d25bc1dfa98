"""Triggers: schedules (cron) and event subscriptions that run an application revision or an evaluation."""
