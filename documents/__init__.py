"""Legal documents: rendering (Jinja2 + WeasyPrint), Factur-X, signatures, content-addressed storage."""
