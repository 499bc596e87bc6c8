"""``python -m hub.service --port N``: run the classroom service (the hub does this)."""

from hub.service.app import main

main()
