"""Gopher's broker: a stateless gRPC service in front of Redis. Run it with
`gopher-server`; embed it through `gopher_server.app.Broker`."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gopher-queue")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
