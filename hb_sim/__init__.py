"""hb_sim."""
