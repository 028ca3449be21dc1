"""The web dashboard, served by the broker's HTTP port at `/ui/`.

    app = create_ui_app(AsyncClient("127.0.0.1:50051"), UiSettings(base_path="/gopher"))

Pages read through the contract with the signed-in user's token; see `_app` for how it
is put together and docs/dashboard.md for what it shows.
"""

from gopher_server.ui._app import UiSettings, create_ui_app

__all__ = ["UiSettings", "create_ui_app"]
