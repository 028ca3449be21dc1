"""Peer task queues measured against Gopher (`python -m benchmarks --peers`).

The adapter modules and `driver` run inside the peer virtualenvs made by
`setup_venv.sh`; `runner` runs in Gopher's environment and starts them.
"""
