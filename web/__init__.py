"""The web screens: server-rendered Jinja2 pages with htmx, over the same services."""
