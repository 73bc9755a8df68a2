from blog.render import render_comment


def test_plain_comment():
    assert render_comment("ann", "nice post") == "<p class='c'><b>ann</b>: nice post</p>"
