"""Sign-in (roster passwords, OpenID Connect) and the handlers the authenticators add to the hub."""
