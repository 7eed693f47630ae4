"""The web portal: server-rendered pages for clients, experts and ops, and the public transparency page."""
