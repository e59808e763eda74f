"""The app starts and the home page answers, signed out and signed in."""


def test_home_anonymous(client):
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")  # no preference at all: Simplified Chinese
    response = client.get("/")
    assert response.status_code == 200
    assert "<html lang=\"zh-Hans\"" in response.text


def test_home_signed_in(world, login):
    client = login("resident")
    response = client.get("/")
    assert response.status_code == 200
    assert "化肥厂小区" in response.text
