"""Clubs: communities that host rooms, with members, followers and a schedule."""
