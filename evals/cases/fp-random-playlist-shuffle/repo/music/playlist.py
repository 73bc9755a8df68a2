"""Playlist helpers."""
import random


def next_song(songs):
    """Pick the next song for shuffle mode."""
    return random.choice(songs)
