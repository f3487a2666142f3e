"""hb_agent."""
