"""Alerts on their way to people: Alertmanager delivery and the live console feed."""
