"""Web pages served by the same process: for now the landing page that points to the API."""
