from music.playlist import next_song


def test_picks_a_song_from_the_list():
    songs = ["a", "b", "c", "d"]
    assert all(next_song(songs) in songs for _ in range(20))
