from catalog.books import list_books, open_catalog

ROWS = [("Dune", 1965), ("Emma", 1815), ("Beloved", 1987)]


def test_sort_by_title_and_year():
    conn = open_catalog(ROWS)
    assert list_books(conn) == ["Beloved", "Dune", "Emma"]
    assert list_books(conn, "year") == ["Emma", "Dune", "Beloved"]
    assert list_books(conn, "id") == ["Dune", "Emma", "Beloved"]
