"""Ballots: proposal votes and service-team elections, counted by the pure rules in `rules`."""
