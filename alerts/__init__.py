"""Alerts on their way to people: Alertmanager delivery, the terminal console and the supervisor's console in the browser."""
