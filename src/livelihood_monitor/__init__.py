"""livelihood-monitor."""
